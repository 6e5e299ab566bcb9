import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createPolicy } from '../../../clients/balancing/policy.js';
import { type Upstream, UpstreamPool } from '../../../clients/upstream/upstream-pool.js';
import { ManualClock } from '../../../contract/clock.js';

const WINDOW_MS = 10_000;

function addresses(count: number) {
  return Array.from({ length: count }, (_, i) => ({ id: `i-${i}`, address: `10.0.0.${i + 1}`, port: 8080, weight: 1 }));
}

function pool(slowStartMs = WINDOW_MS) {
  const clock = new ManualClock();
  const subject = new UpstreamPool({
    policy: createPolicy<Upstream>('weighted-round-robin'),
    breaker: { consecutiveFailures: 2, openTime: { baseMs: 1000, maxMs: 10_000, jitter: 0 }, halfOpenProbes: 1 },
    slowStartMs,
    clock,
  });
  return { subject, clock };
}

/** `picks` picks, each released at once, spread evenly over `spanMs` of the clock: the share `id` got. */
function shareOf(subject: UpstreamPool, clock: ManualClock, id: string, spanMs: number, picks = 4000, outcome: 'success' | 'failure' = 'success'): number {
  let count = 0;
  for (let i = 0; i < picks; i++) {
    const pick = subject.choose()!;
    if (pick.upstream.id === id) count += 1;
    subject.release(pick, outcome);
    clock.advance(spanMs / picks);
  }
  return count / picks;
}

describe('UpstreamPool slow start', () => {
  it("the pool's first set starts at full weight: ramping everyone alike would change no share", () => {
    const { subject, clock } = pool();
    subject.update(addresses(3));

    const share = shareOf(subject, clock, 'i-0', 1000, 3000);

    assert.equal(share, 1 / 3);
  });

  it('an instance added to 3 stays under its ramp over the first quarter of the window, and has its full share after it', () => {
    const { subject, clock } = pool();
    subject.update(addresses(3));
    subject.update(addresses(4));

    const early = shareOf(subject, clock, 'i-3', WINDOW_MS / 4);
    clock.advance(WINDOW_MS);
    const later = shareOf(subject, clock, 'i-3', 1000);

    assert.ok(early > 0 && early < 0.25 / 3.25, `early share ${early}`);
    assert.equal(later, 0.25);
  });

  it('an instance back from an open breaker ramps up again', () => {
    const { subject, clock } = pool();
    subject.update(addresses(4));
    clock.advance(WINDOW_MS);
    for (let failures = 0; failures < 2; ) {
      const pick = subject.choose()!;
      subject.release(pick, pick.upstream.id === 'i-0' ? 'failure' : 'success');
      if (pick.upstream.id === 'i-0') failures += 1;
    }
    clock.advance(1000);
    // The half-open probe succeeds, the breaker closes: i-0 is usable again from now.
    while (subject.members[0]!.breaker.state !== 'closed') subject.release(subject.choose()!, 'success');

    const early = shareOf(subject, clock, 'i-0', WINDOW_MS / 4);

    assert.ok(early < 0.25 / 3.25, `early share ${early}`);
  });

  it('setSlowStart changes the window live: on for an instance added a second ago, then off (0) for full weight at once', () => {
    const { subject, clock } = pool(0);
    subject.update(addresses(3));
    subject.update(addresses(4));
    clock.advance(1000);

    subject.setSlowStart(WINDOW_MS);
    const ramped = shareOf(subject, clock, 'i-3', 1000);
    subject.setSlowStart(0);
    const full = shareOf(subject, clock, 'i-3', 1000);

    assert.equal(subject.slowStartMs, 0);
    assert.ok(ramped < 0.25 / 3.25, `ramped share ${ramped}`);
    assert.equal(full, 0.25);
  });
});
