import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createPolicy } from '../../../clients/balancing/policy.js';
import { DEFAULT_BREAKER_OPTIONS } from '../../../clients/breaker/circuit-breaker.js';
import { type Upstream, UpstreamPool } from '../../../clients/upstream/upstream-pool.js';

function pool(): UpstreamPool {
  const upstreams = new UpstreamPool({ policy: createPolicy<Upstream>('weighted-round-robin') });
  upstreams.update([
    { id: 'a', address: '127.0.0.1', port: 1, weight: 1 },
    { id: 'b', address: '127.0.0.1', port: 2, weight: 1 },
  ]);
  return upstreams;
}

/** Fails `upstream`'s breaker `times` times in a row. */
function fail(upstreams: UpstreamPool, id: string, times: number): void {
  for (let i = 0; i < times; i++) {
    const pick = upstreams.choose(upstreams.members.filter((upstream) => upstream.id !== id))!;
    upstreams.release(pick, 'failure');
  }
}

describe('UpstreamPool settings changed by a traffic policy', () => {
  it('setBalancing: the next pick uses the new policy; a pick already made keeps its instance', () => {
    const upstreams = pool();
    const before = upstreams.choose()!;
    const onlyB = { name: 'random' as const, pick: (candidates: readonly Upstream[]) => candidates.find((upstream) => upstream.id === 'b') };

    upstreams.setBalancing(onlyB);

    assert.deepEqual([upstreams.choose()!.upstream.id, upstreams.choose()!.upstream.id], ['b', 'b']);
    assert.equal(before.upstream.id, 'a');
    assert.equal(upstreams.balancing, onlyB);
  });

  it('setThresholds: a panic threshold of 0 stops looking past open breakers', () => {
    const upstreams = pool();
    upstreams.setThresholds({ panicThreshold: 0.5, maxEjectedShare: 1 });
    fail(upstreams, 'a', 5);
    fail(upstreams, 'b', 5);
    assert.ok(upstreams.choose(), 'in panic, a pick is made over open breakers');

    upstreams.setThresholds({ panicThreshold: 0, maxEjectedShare: 1 });

    assert.equal(upstreams.choose(), undefined);
    assert.throws(() => upstreams.setThresholds({ panicThreshold: 2, maxEjectedShare: 1 }), RangeError);
  });

  it('setBreakerOptions: an instance that joins later gets the new settings, one already there keeps its own', () => {
    const upstreams = pool();
    upstreams.setThresholds({ panicThreshold: 0, maxEjectedShare: 1 });
    upstreams.setBreakerOptions({ ...DEFAULT_BREAKER_OPTIONS, consecutiveFailures: 1 });
    upstreams.update([...upstreams.members, { id: 'c', address: '127.0.0.1', port: 3, weight: 1 }]);

    fail(upstreams, 'a', 1);
    fail(upstreams, 'c', 1);

    const states = Object.fromEntries(upstreams.members.map((upstream) => [upstream.id, upstream.breaker.state]));
    assert.deepEqual(states, { a: 'closed', b: 'closed', c: 'open' });
  });
});
