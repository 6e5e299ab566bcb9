import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { BEACON_DEFAULTS } from '../../../clients/policy/beacon-defaults.js';
import { type PolicyDefaults, resolvePolicy } from '../../../clients/policy/effective-policy.js';

const defaults: PolicyDefaults = {
  // Beacon's defaults, two of the fields marked as set by a flag.
  values: BEACON_DEFAULTS,
  sources: {
    balancing: 'flag', hashOn: 'default', timeoutMs: 'default', tryTimeoutMs: 'default', retries: 'flag', outlier: 'default',
    panicThreshold: 'default', slowStartMs: 'default', limits: 'default', split: 'default', failover: 'default',
  },
};

describe('resolvePolicy', () => {
  it('without a policy, the flags decide everything', () => {
    const { policy, sources } = resolvePolicy(undefined, defaults);
    assert.deepEqual(policy, defaults.values);
    assert.deepEqual(sources, defaults.sources);
  });

  it('takes what the policy sets, in numbers, and marks those fields as coming from the policy', () => {
    const { policy, sources } = resolvePolicy(
      { balancing: 'ring-hash', hashOn: { header: 'X-User-Id' }, timeout: '2s', slowStart: '30s', panicThreshold: 30, split: [{ tag: 'v2', weight: 10 }], failover: [{ service: 'web-dr' }] },
      defaults,
    );
    assert.equal(policy.balancing, 'ring-hash');
    assert.deepEqual(policy.hashOn, { header: 'x-user-id' });
    assert.equal(policy.timeoutMs, 2_000);
    assert.equal(policy.tryTimeoutMs, 5_000);
    assert.equal(policy.slowStartMs, 30_000);
    assert.equal(policy.panicThreshold, 0.3);
    assert.deepEqual(policy.split, [{ tag: 'v2', weight: 10 }]);
    assert.deepEqual(policy.failover, [{ service: 'web-dr' }]);
    assert.deepEqual(
      Object.entries(sources).filter(([, source]) => source === 'policy').map(([field]) => field),
      ['balancing', 'hashOn', 'timeoutMs', 'panicThreshold', 'slowStartMs', 'split', 'failover'],
    );
    assert.equal(sources.retries, 'flag');
  });

  it('a nested field the policy leaves out still comes from the flags', () => {
    const { policy, sources } = resolvePolicy({ retries: { count: 1, backoff: { max: '1s' } }, outlier: { maxEjectionPercent: 10 }, limits: { maxPendingRequests: 5 } }, defaults);
    assert.deepEqual(policy.retries, { count: 1, on: defaults.values.retries.on, budget: 0.2, backoff: { baseMs: 25, maxMs: 1_000 } });
    assert.deepEqual(policy.outlier, { ...defaults.values.outlier, maxEjection: 0.1 });
    assert.deepEqual(policy.limits, { maxConnections: 1024, maxPendingRequests: 5 });
    assert.deepEqual([sources.retries, sources.outlier, sources.limits], ['policy', 'policy', 'policy']);
  });
});
