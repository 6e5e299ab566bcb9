import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Endpoint } from '../../../clients/balancing/endpoint.js';
import { RingHash } from '../../../clients/balancing/ring-hash.js';

interface TestEndpoint extends Endpoint {
  id: string;
  weight: number;
  active: number;
}

function instances(...weights: number[]): TestEndpoint[] {
  return weights.map((weight, i) => ({ id: `instance-${i}`, weight, active: 0 }));
}

const KEYS = Array.from({ length: 10_000 }, (_, i) => `user-${i}`);

/** Where each key goes over `set` (candidates and members alike). */
function placement(policy: RingHash<TestEndpoint>, set: TestEndpoint[]): Map<string, TestEndpoint> {
  return new Map(KEYS.map((key) => [key, policy.pick(set, key)!]));
}

function byId(a: TestEndpoint | undefined, b: TestEndpoint | undefined): number {
  return a!.id.localeCompare(b!.id);
}

function moved(before: Map<string, TestEndpoint>, after: Map<string, TestEndpoint>): string[] {
  return KEYS.filter((key) => before.get(key) !== after.get(key));
}

describe('ring-hash', () => {
  it('a key keeps its instance across 10,000 picks', () => {
    const policy = new RingHash<TestEndpoint>();
    const set = instances(1, 1, 1);
    const first = policy.pick(set, 'user-42');

    const picks = new Set(Array.from({ length: 10_000 }, () => policy.pick(set, 'user-42')));

    assert.deepEqual([...picks], [first]);
  });

  it('a 4th instance added to 3 takes about a quarter of 10,000 keys, and only keys it now owns move', () => {
    const policy = new RingHash<TestEndpoint>();
    const four = instances(1, 1, 1, 1);
    const before = placement(policy, four.slice(0, 3));

    const after = placement(policy, four);

    const keys = moved(before, after);
    const share = keys.length / KEYS.length;
    assert.ok(share >= 0.18 && share <= 0.32, `${share} of the keys moved`);
    assert.ok(keys.every((key) => after.get(key) === four[3]));
  });

  it('removing one of 4 instances moves only its keys, spread over the other 3', () => {
    const policy = new RingHash<TestEndpoint>();
    const four = instances(1, 1, 1, 1);
    const before = placement(policy, four);
    const gone = four[2]!;

    const after = placement(policy, four.filter((instance) => instance !== gone));

    const keys = moved(before, after);
    assert.deepEqual(keys, KEYS.filter((key) => before.get(key) === gone));
    const takers = new Set(keys.map((key) => after.get(key)));
    assert.equal(takers.size, 3);
  });

  it('weights 1:3 give about 25% / 75% of 10,000 keys (± 5 points)', () => {
    const policy = new RingHash<TestEndpoint>();
    const set = instances(1, 3);

    const light = [...placement(policy, set).values()].filter((instance) => instance === set[0]).length / KEYS.length;

    assert.ok(Math.abs(light - 0.25) <= 0.05, `the weight-1 instance got ${light}`);
  });

  it('an instance left out (tried, breaker open) is walked past: the same key always gets the same second choice, the one it would get without that instance', () => {
    const policy = new RingHash<TestEndpoint>();
    const without = new RingHash<TestEndpoint>();
    const set = instances(1, 1, 1, 1);

    for (const key of KEYS.slice(0, 1000)) {
      const first = policy.pick(set, key)!;
      const rest = set.filter((instance) => instance !== first);

      const seconds = new Set([policy.pick(rest, key, set), policy.pick(rest, key, set)]);

      assert.deepEqual([...seconds], [without.pick(rest, key)], key);
    }
  });

  it('a weight-0 instance is off the ring while a heavier one is usable, and picked when only it is left', () => {
    const policy = new RingHash<TestEndpoint>();
    const set = instances(0, 0, 1, 1);
    const zeros = set.slice(0, 2);

    const picks = new Set(KEYS.slice(0, 1000).map((key) => policy.pick(set, key)));
    const left = new Set(KEYS.slice(0, 1000).map((key) => policy.pick(zeros, key, set)));

    assert.deepEqual([...picks].sort(byId), set.slice(2));
    assert.deepEqual([...left].sort(byId), zeros);
  });

  it('a request without a key goes to a weighted random instance', () => {
    let draw = 0;
    const draws = [0.1, 0.9];
    const policy = new RingHash<TestEndpoint>(() => draws[draw++ % 2]!);
    const set = instances(1, 1);

    const picks = [policy.pick(set), policy.pick(set)];

    assert.deepEqual(picks, [set[0], set[1]]);
  });

  it('the same set in a new array (a registry update that changed nothing) places keys as before', () => {
    const policy = new RingHash<TestEndpoint>();
    const set = instances(1, 2, 3);
    const before = placement(policy, set);

    const after = placement(policy, [...set]);

    assert.deepEqual(moved(before, after), []);
  });
});
