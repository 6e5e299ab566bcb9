import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Endpoint } from '../../../clients/balancing/endpoint.js';
import { createPolicy, type PolicyName } from '../../../clients/balancing/policy.js';
import { rampOf, SlowStart } from '../../../clients/balancing/slow-start.js';
import { seededRandom } from '../../support/seeded-random.js';

interface TestEndpoint extends Endpoint {
  id: string;
  weight: number;
  active: number;
  usableSince: number;
  ramp: number;
}

const WINDOW_MS = 10_000;
const RAMPED_POLICIES: PolicyName[] = ['weighted-round-robin', 'random', 'least-request'];


/** Three instances at full weight since before the test, and one that became usable at time 0. */
function fleet(windowMs = WINDOW_MS) {
  const old = [0, 1, 2].map((i): TestEndpoint => ({ id: `old-${i}`, weight: 1, active: 0, usableSince: Number.NEGATIVE_INFINITY, ramp: 1 }));
  const fresh: TestEndpoint = { id: 'fresh', weight: 1, active: 0, usableSince: 0, ramp: 1 };
  const slowStart = new SlowStart<TestEndpoint>(windowMs);
  slowStart.began(fresh, 0);
  return { all: [...old, fresh], old, fresh, slowStart };
}

/**
 * `picks` picks spread evenly over [fromMs, toMs), each kept in flight until `concurrency`
 * later ones have started (so least-request sees real loads); the fresh instance's share.
 */
function freshShare(name: PolicyName, fromMs: number, toMs: number, windowMs = WINDOW_MS): number {
  const { all, fresh, slowStart } = fleet(windowMs);
  const policy = createPolicy<TestEndpoint>(name, seededRandom(5));
  const inFlight: TestEndpoint[] = [];
  const picks = 8000;
  let freshPicks = 0;
  for (let i = 0; i < picks; i++) {
    slowStart.advance(fromMs + ((toMs - fromMs) * i) / picks);
    const picked = policy.pick(all)!;
    if (picked === fresh) freshPicks += 1;
    picked.active += 1;
    inFlight.push(picked);
    if (inFlight.length > 16) inFlight.shift()!.active -= 1;
  }
  return freshPicks / picks;
}

describe('slow start', () => {
  it("ramps as Envoy's slow_start_config: linear from 10% with aggression 1, faster early with aggression 2, full weight at the window's end", () => {
    const linear = { minWeight: 0.1, aggression: 1 };
    const eager = { minWeight: 0.1, aggression: 2 };

    const ramps = [0, 500, 5000, 9999, 10_000].map((t) => rampOf(t, WINDOW_MS, linear));

    assert.deepEqual(ramps, [0.1, 0.1, 0.5, 0.9999, 1]);
    assert.equal(rampOf(2500, WINDOW_MS, eager), 0.5);
  });

  // Over the window's first quarter the ramp is at most 0.25: a share of 0.25 / 3.25 beside three at full weight.
  const firstQuarterBound = 0.25 / 3.25;
  for (const name of RAMPED_POLICIES) {
    it(`${name}: a new instance's share over the first quarter of the window stays under its ramp (${firstQuarterBound.toFixed(3)})`, () => {
      const share = freshShare(name, 0, WINDOW_MS / 4);

      assert.ok(share > 0 && share < firstQuarterBound, `the new instance got ${share}`);
    });

    it(`${name}: after the window the new instance gets its full share (25% ± 3 points)`, () => {
      const share = freshShare(name, WINDOW_MS, 2 * WINDOW_MS);

      assert.ok(Math.abs(share - 0.25) <= 0.03, `the new instance got ${share}`);
    });

    it(`${name}: with slow start off (window 0) a new instance gets its full share at once`, () => {
      const share = freshShare(name, 0, WINDOW_MS / 4, 0);

      assert.ok(Math.abs(share - 0.25) <= 0.03, `the new instance got ${share}`);
    });
  }

  it('least-request: a fresh instance with nothing in flight, beside instances with 10 each, draws no burst', () => {
    const burst = (windowMs: number) => {
      const { all, old, fresh, slowStart } = fleet(windowMs);
      for (const instance of old) instance.active = 10;
      slowStart.advance(0);
      const policy = createPolicy<TestEndpoint>('least-request', seededRandom(9));
      let freshPicks = 0;
      for (let i = 0; i < 100; i++) {
        const picked = policy.pick(all)!;
        picked.active += 1;
        if (picked === fresh) freshPicks += 1;
      }
      return freshPicks;
    };

    const ramped = burst(WINDOW_MS);
    const unramped = burst(0);

    // In flight per unit of ramped weight: at 10% it carries about a 31st of the 130 requests.
    assert.ok(ramped <= 8, `with slow start the fresh instance took ${ramped} of 100`);
    assert.ok(unramped >= 25, `without slow start it took ${unramped} of 100 (the burst slow start prevents)`);
  });

  it('changing the window live re-reads who is inside it; 0 gives everyone full weight at once', () => {
    const { all, fresh, slowStart } = fleet(0);

    slowStart.setWindow(WINDOW_MS, all, 5000);
    const during = fresh.ramp;
    slowStart.setWindow(0, all, 5000);

    assert.equal(during, 0.5);
    assert.equal(fresh.ramp, 1);
    assert.equal(slowStart.size, 0);
  });
});
