import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Endpoint } from '../../../clients/balancing/endpoint.js';
import { createPolicy, POLICY_NAMES } from '../../../clients/balancing/policy.js';
import { seededRandom } from '../../support/seeded-random.js';

interface TestEndpoint extends Endpoint {
  id: string;
  name: string;
  weight: number;
  active: number;
}

function endpoints(...weights: number[]): TestEndpoint[] {
  return weights.map((weight, i) => ({ id: `e${i}`, name: `e${i}`, weight, active: 0 }));
}


function shares(picks: (TestEndpoint | undefined)[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const pick of picks) counts[pick!.name] = (counts[pick!.name] ?? 0) + 1;
  for (const name of Object.keys(counts)) counts[name]! /= picks.length;
  return counts;
}

describe('balancing policies', () => {
  for (const name of POLICY_NAMES) {
    it(`${name}: weights 1:3 give 25% / 75% of 4,000 picks (± 3 points)`, () => {
      const policy = createPolicy<TestEndpoint>(name, seededRandom(7));
      const set = endpoints(1, 3);

      const result = shares(Array.from({ length: 4000 }, () => policy.pick(set)));

      assert.ok(Math.abs(result.e0! - 0.25) <= 0.03, `e0 got ${result.e0}`);
      assert.ok(Math.abs(result.e1! - 0.75) <= 0.03, `e1 got ${result.e1}`);
    });

    it(`${name}: weight 0 is picked only when every candidate has weight 0`, () => {
      const policy = createPolicy<TestEndpoint>(name, seededRandom(3));
      const mixed = endpoints(0, 2);
      const zeros = endpoints(0, 0);

      const fromMixed = Array.from({ length: 200 }, () => policy.pick(mixed)!.name);
      const fromZeros = new Set(Array.from({ length: 200 }, () => policy.pick(zeros)!.name));

      assert.ok(fromMixed.every((picked) => picked === 'e1'));
      assert.deepEqual([...fromZeros].sort(), ['e0', 'e1']);
    });

    it(`${name}: an empty set gives nothing and a single candidate is always picked`, () => {
      const policy = createPolicy<TestEndpoint>(name, seededRandom(1));
      const [only] = endpoints(5);

      assert.equal(policy.pick([]), undefined);
      assert.equal(policy.pick([only!]), only);
    });
  }

  it('weighted-round-robin is smooth: 1:3 interleaves instead of bursting', () => {
    const policy = createPolicy<TestEndpoint>('weighted-round-robin');
    const set = endpoints(1, 3);

    const sequence = Array.from({ length: 8 }, () => policy.pick(set)!.name).join(' ');

    assert.equal(sequence, 'e1 e0 e1 e1 e1 e0 e1 e1');
  });

  it('weighted-round-robin follows nginx exactly for 5:1:1', () => {
    const policy = createPolicy<TestEndpoint>('weighted-round-robin');
    const set = endpoints(5, 1, 1);

    const sequence = Array.from({ length: 7 }, () => policy.pick(set)!.name).join(' ');

    // nginx's documented example for weights a=5 b=1 c=1: a a b a c a a.
    assert.equal(sequence, 'e0 e0 e1 e0 e2 e0 e0');
  });

  it('least-request sends to the less loaded of the two draws, per unit of weight', () => {
    const policy = createPolicy<TestEndpoint>('least-request', seededRandom(11));
    const set = endpoints(1, 1);
    set[0]!.active = 10;

    const picks = shares(Array.from({ length: 1000 }, () => policy.pick(set)));

    // Whenever the two draws differ (half the time) e1 wins; when they agree the draw stands.
    assert.ok(picks.e1! > 0.7, `e1 got ${picks.e1}`);
  });
});
