import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createPolicy } from '../../../clients/balancing/policy.js';
import type { BreakerTransition } from '../../../clients/breaker/circuit-breaker.js';
import { type Upstream, UpstreamPool, type UpstreamPoolOptions } from '../../../clients/upstream/upstream-pool.js';
import { ManualClock } from '../../../contract/clock.js';

function addresses(count: number, weight = 1) {
  return Array.from({ length: count }, (_, i) => ({ id: `i-${i}`, address: `10.0.0.${i + 1}`, port: 8080, weight }));
}

function pool(options: Partial<UpstreamPoolOptions> = {}) {
  const clock = new ManualClock();
  const events: string[] = [];
  const subject = new UpstreamPool({
    policy: createPolicy<Upstream>('weighted-round-robin'),
    breaker: { consecutiveFailures: 2, openTime: { baseMs: 1000, maxMs: 10_000, jitter: 0 }, halfOpenProbes: 1 },
    clock,
    hooks: {
      transition: (transition: BreakerTransition, upstream) => events.push(`${upstream.id} ${transition}`),
      panicked: () => events.push('panic'),
      ejectionRefused: (upstream) => events.push(`${upstream.id} refused`),
      removed: (upstream) => events.push(`${upstream.id} removed`),
    },
    ...options,
  });
  return { subject, clock, events };
}

/** Sends `count` requests to the instance, each failing. */
function failOn(subject: UpstreamPool, id: string, count: number): void {
  for (let sent = 0; sent < count; ) {
    const pick = subject.choose()!;
    if (pick.upstream.id === id) {
      subject.release(pick, 'failure');
      sent += 1;
    } else {
      subject.release(pick, 'success');
    }
  }
}

describe('UpstreamPool', () => {
  it('a retry never goes back to an instance already tried', () => {
    const { subject } = pool();
    subject.update(addresses(3));

    const first = subject.choose()!;
    const second = subject.choose([first.upstream])!;
    const third = subject.choose([first.upstream, second.upstream])!;
    const none = subject.choose([first.upstream, second.upstream, third.upstream]);

    assert.equal(new Set([first.upstream, second.upstream, third.upstream]).size, 3);
    assert.equal(none, undefined);
  });

  it('counts requests in flight until they are released', () => {
    const { subject } = pool();
    subject.update(addresses(1));

    const pick = subject.choose()!;
    const during = pick.upstream.active;
    subject.release(pick, 'success');

    assert.equal(during, 1);
    assert.equal(pick.upstream.active, 0);
  });

  it('an instance whose breaker is open gets nothing until it half-opens', () => {
    const { subject, clock, events } = pool();
    subject.update(addresses(4));
    failOn(subject, 'i-0', 2);

    const whileOpen = new Set(Array.from({ length: 20 }, () => {
      const pick = subject.choose()!;
      subject.release(pick, 'success');
      return pick.upstream.id;
    }));
    clock.advance(1000);
    const probed = Array.from({ length: 8 }, () => {
      const pick = subject.choose()!;
      subject.release(pick, 'success');
      return pick.upstream.id;
    });

    assert.ok(!whileOpen.has('i-0'));
    assert.ok(probed.includes('i-0'));
    assert.deepEqual(events, ['i-0 trip', 'i-0 probe', 'i-0 recover']);
  });

  it('keeps breakers and load of instances that stay, drops those that leave', () => {
    const { subject, events } = pool();
    subject.update(addresses(3));
    failOn(subject, 'i-1', 2);
    const [kept] = subject.members;

    subject.update([{ ...addresses(2)[0]!, weight: 7 }, addresses(2)[1]!]);

    assert.equal(subject.members[0], kept);
    assert.equal(subject.members[0]!.weight, 7);
    assert.equal(subject.members[1]!.breaker.state, 'open');
    assert.ok(events.includes('i-2 removed'));
  });

  it('an instance that moved to a new address starts with a fresh breaker', () => {
    const { subject } = pool();
    subject.update(addresses(2));
    failOn(subject, 'i-0', 2);

    subject.update([{ id: 'i-0', address: '10.9.9.9', port: 8080, weight: 1 }, addresses(2)[1]!]);

    assert.equal(subject.members[0]!.breaker.state, 'closed');
  });

  it('never ejects more than the max share, but always at least one instance', () => {
    const { subject, events } = pool({ maxEjectedShare: 0.5 });
    subject.update(addresses(4));

    failOn(subject, 'i-0', 2);
    failOn(subject, 'i-1', 2);
    failOn(subject, 'i-2', 2);

    assert.equal(subject.ejected, 2);
    assert.equal(subject.members[2]!.breaker.state, 'closed');
    assert.ok(events.includes('i-2 refused'));

    const small = pool({ maxEjectedShare: 0.1 });
    small.subject.update(addresses(3));
    failOn(small.subject, 'i-0', 2);
    assert.equal(small.subject.ejected, 1);
  });

  it('panics below the threshold: balances over every instance, breakers or not, and says so', () => {
    const { subject, events } = pool({ maxEjectedShare: 1, panicThreshold: 0.5 });
    subject.update(addresses(4));
    failOn(subject, 'i-0', 2);
    failOn(subject, 'i-1', 2);
    const beforePanic = subject.inPanic;
    failOn(subject, 'i-2', 2);

    const picked = new Set(Array.from({ length: 8 }, () => {
      const pick = subject.choose()!;
      subject.release(pick, 'success');
      return pick.upstream.id;
    }));

    assert.equal(beforePanic, false);
    assert.equal(subject.inPanic, true);
    assert.deepEqual([...picked].sort(), ['i-0', 'i-1', 'i-2', 'i-3']);
    assert.ok(events.includes('panic'));
  });

  it('with no instances there is nothing to choose and no panic', () => {
    const { subject } = pool();

    assert.equal(subject.choose(), undefined);
    assert.equal(subject.inPanic, false);
  });

  it('an instance held off by a Retry-After gets nothing until that time, even in panic', () => {
    const { subject, clock } = pool();
    subject.update(addresses(2));
    const held = subject.members[0]!;

    subject.holdOff(held, 2000);
    const picked = new Set<string>();
    for (let i = 0; i < 4; i++) {
      const pick = subject.choose()!;
      picked.add(pick.upstream.id);
      subject.release(pick, 'success');
    }
    const alone = subject.choose([subject.members[1]!]);
    clock.advance(1999);
    const justBefore = subject.choose([subject.members[1]!]);
    clock.advance(1);
    const after = subject.choose([subject.members[1]!]);

    assert.deepEqual([...picked], ['i-1']);
    assert.equal(alone, undefined);
    assert.equal(justBefore, undefined);
    assert.equal(after?.upstream, held);
  });
});
