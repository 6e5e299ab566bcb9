import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createPolicy } from '../../../clients/balancing/policy.js';
import { type TaggedAddress, TrafficRouter } from '../../../clients/upstream/traffic-split.js';
import { type Upstream, type UpstreamAddress, UpstreamPool } from '../../../clients/upstream/upstream-pool.js';

function instance(id: string, tags: string[]): TaggedAddress {
  return { id, address: '127.0.0.1', port: 1000 + Number(id.replace(/\D/g, '') || 0), weight: 1, tags };
}

/** A router over plain pools; failover services are fed by hand through `feeds`. */
function router() {
  const feeds = new Map<string, (instances: readonly UpstreamAddress[]) => void>();
  const closed: string[] = [];
  const removed: string[] = [];
  const traffic = new TrafficRouter({
    newPool: () => new UpstreamPool({ policy: createPolicy<Upstream>('weighted-round-robin'), hooks: { removed: (upstream) => removed.push(upstream.id) } }),
    follow: (service, update) => {
      feeds.set(service, update);
      return { close: () => void closed.push(service) };
    },
  });
  return { traffic, feeds, closed, removed };
}

/** Picks `count` times, releasing each pick as a success; counts picks by instance id. */
function pickMany(traffic: TrafficRouter, count: number): Map<string, number> {
  const counts = new Map<string, number>();
  for (let i = 0; i < count; i++) {
    const pick = traffic.choose()!;
    counts.set(pick.upstream.id, (counts.get(pick.upstream.id) ?? 0) + 1);
    traffic.release(pick, 'success');
  }
  return counts;
}

describe('TrafficRouter', () => {
  it('without split or failover it balances over the whole service', () => {
    const { traffic } = router();
    traffic.update([instance('a1', []), instance('a2', ['v2'])]);

    assert.deepEqual(pickMany(traffic, 4), new Map([['a1', 2], ['a2', 2]]));
  });

  it('split 90/10 sends exactly 9 of every 10 requests to v1, the rest to v2', () => {
    const { traffic } = router();
    traffic.update([instance('a1', ['v1']), instance('a2', ['v1']), instance('c3', ['v2'])]);
    traffic.route([{ tag: 'v1', weight: 90 }, { tag: 'v2', weight: 10 }], undefined);

    const counts = pickMany(traffic, 1000);

    assert.equal((counts.get('a1') ?? 0) + (counts.get('a2') ?? 0), 900);
    assert.equal(counts.get('c3'), 100);
  });

  it("a retry stays in its request's split group and does not move the rotation", () => {
    const { traffic } = router();
    traffic.update([instance('a1', ['v1']), instance('a2', ['v1']), instance('c3', ['v2']), instance('c4', ['v2'])]);
    traffic.route([{ tag: 'v1', weight: 90 }, { tag: 'v2', weight: 10 }], undefined);
    const firstInV2 = (id: string) => id === 'c3' || id === 'c4';

    let canaryRequests = 0;
    for (let i = 0; i < 1000; i++) {
      const first = traffic.choose()!;
      traffic.release(first, 'success');
      const retry = traffic.choose([first.upstream])!;
      traffic.release(retry, 'success');
      assert.notEqual(retry.upstream, first.upstream);
      assert.equal(firstInV2(retry.upstream.id), firstInV2(first.upstream.id), `request ${i}: retried outside its group`);
      if (firstInV2(first.upstream.id)) canaryRequests += 1;
    }

    assert.equal(canaryRequests, 100);
  });

  it('an instance carrying two split tags is in both groups', () => {
    const { traffic } = router();
    traffic.update([instance('a1', ['v1', 'v2']), instance('a2', ['v1'])]);
    traffic.route([{ tag: 'v1', weight: 1 }, { tag: 'v2', weight: 1 }], undefined);

    const counts = pickMany(traffic, 100);

    assert.deepEqual(counts, new Map([['a1', 75], ['a2', 25]]));
  });

  it('instances carrying a failover tag are standbys: no traffic while the primary has a usable instance', () => {
    const { traffic } = router();
    traffic.update([instance('a1', []), instance('a2', []), instance('s3', ['standby'])]);
    traffic.route(undefined, [{ tag: 'standby' }]);

    assert.deepEqual(pickMany(traffic, 10), new Map([['a1', 5], ['a2', 5]]));
  });

  it('a split group with no instance goes to the failover tag, in order', () => {
    const { traffic } = router();
    traffic.update([instance('a1', ['v1']), instance('s2', ['standby'])]);
    traffic.route([{ tag: 'v2', weight: 1 }], [{ tag: 'standby' }]);

    assert.deepEqual(pickMany(traffic, 3), new Map([['s2', 3]]));
  });

  it('failover to another service follows it while named, and lets it go when the policy stops naming it', () => {
    const { traffic, feeds, closed, removed } = router();
    traffic.route(undefined, [{ tag: 'standby' }, { service: 'web-dr' }]);
    feeds.get('web-dr')!([{ id: 'dr1', address: '127.0.0.1', port: 2001, weight: 1 }]);

    assert.deepEqual(pickMany(traffic, 2), new Map([['dr1', 2]]));

    traffic.update([instance('a1', [])]);
    assert.deepEqual(pickMany(traffic, 2), new Map([['a1', 2]]));

    traffic.route(undefined, undefined);
    assert.deepEqual(closed, ['web-dr']);
    assert.deepEqual(removed, ['dr1']);
    assert.deepEqual(traffic.members.map((upstream) => upstream.id), ['a1']);
  });

  it('a retry leaves out what was tried, moving on to the failover target', () => {
    const { traffic } = router();
    traffic.update([instance('a1', []), instance('s2', ['standby'])]);
    traffic.route(undefined, [{ tag: 'standby' }]);
    const first = traffic.choose()!;

    const second = traffic.choose([first.upstream]);

    assert.equal(first.upstream.id, 'a1');
    assert.equal(second?.upstream.id, 's2');
  });
});
