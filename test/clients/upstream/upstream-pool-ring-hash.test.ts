import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createPolicy } from '../../../clients/balancing/policy.js';
import { type Upstream, UpstreamPool } from '../../../clients/upstream/upstream-pool.js';
import { ManualClock } from '../../../contract/clock.js';

function ringPool() {
  const subject = new UpstreamPool({
    policy: createPolicy<Upstream>('ring-hash'),
    breaker: { consecutiveFailures: 2, openTime: { baseMs: 1000, maxMs: 10_000, jitter: 0 }, halfOpenProbes: 1 },
    clock: new ManualClock(),
  });
  subject.update(Array.from({ length: 4 }, (_, i) => ({ id: `i-${i}`, address: `10.0.0.${i + 1}`, port: 8080, weight: 1 })));
  return subject;
}

/** Where `key` goes, the pick released at once. */
function where(subject: UpstreamPool, key: string, tried: Upstream[] = []): Upstream {
  const pick = subject.choose(tried, key)!;
  subject.release(pick, 'success');
  return pick.upstream;
}

describe('UpstreamPool with ring-hash', () => {
  it("a retry of a key goes to the same second instance every time, and that is where the key goes while its first instance's breaker is open", () => {
    const subject = ringPool();
    const first = where(subject, 'user-7');
    const retries = new Set(Array.from({ length: 20 }, () => where(subject, 'user-7', [first])));
    for (let failures = 0; failures < 2; failures++) subject.release(subject.choose([], 'user-7')!, 'failure');

    const whileOpen = new Set(Array.from({ length: 20 }, () => where(subject, 'user-7')));

    assert.equal(first.breaker.state, 'open');
    assert.equal(retries.size, 1);
    assert.ok(!retries.has(first));
    assert.deepEqual([...whileOpen], [...retries]);
  });

  it('a registry update that keeps the same instances moves no key', () => {
    const subject = ringPool();
    const keys = Array.from({ length: 1000 }, (_, i) => `user-${i}`);
    const before = keys.map((key) => where(subject, key).id);

    subject.update(subject.members.map(({ id, address, port, weight }) => ({ id, address, port, weight })));
    const after = keys.map((key) => where(subject, key).id);

    assert.deepEqual(after, before);
  });
});
