import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { BEACON_DEFAULTS, BEACON_POLICY_DEFAULTS } from '../../../clients/policy/beacon-defaults.js';
import { type PolicyChange, PolicyInForce } from '../../../clients/policy/policy-in-force.js';
import { parseProxyConfig, policyDefaults } from '../../../clients/proxy/proxy-config.js';

const REQUIRED = ['--service', 'web', '--listen', '127.0.0.1:0'];

describe("the proxy's flags as the policy's defaults", () => {
  it('with no policy flag given, every field is Beacon\'s default', () => {
    const { values, sources } = policyDefaults(parseProxyConfig(REQUIRED, {})!);

    assert.deepEqual(values, BEACON_DEFAULTS);
    assert.deepEqual(new Set(Object.values(sources)), new Set(['default']));
  });

  it('a flag on the command line or in the environment makes its field "flag"', () => {
    const config = parseProxyConfig([...REQUIRED, '--retries', '4', '--breaker-open', '2s'], { BEACON_POLICY: 'random', BEACON_TIMEOUT: '3s' })!;

    const { values, sources } = policyDefaults(config);

    assert.equal(values.retries.count, 4);
    assert.equal(values.balancing, 'random');
    assert.equal(values.timeoutMs, 3_000);
    assert.equal(values.outlier.baseEjectionTimeMs, 2_000);
    assert.deepEqual(
      Object.entries(sources).filter(([, source]) => source === 'flag').map(([field]) => field),
      ['balancing', 'timeoutMs', 'retries', 'outlier'],
    );
  });

  it('a flag given with its default value still counts as given', () => {
    const { sources } = policyDefaults(parseProxyConfig([...REQUIRED, '--panic-threshold', '50'], {})!);

    assert.equal(sources.panicThreshold, 'flag');
  });
});

describe('PolicyInForce', () => {
  it('starts with the flags at index 0, then puts each registry policy in force with its index and tells listeners', () => {
    const inForce = new PolicyInForce(policyDefaults(parseProxyConfig([...REQUIRED, '--retries', '1'], {})!));
    const changes: PolicyChange[] = [];
    inForce.on('change', (change) => changes.push(change));
    const before = inForce.read();

    inForce.apply({ balancing: 'least-request', retries: { count: 3 } }, 42);

    assert.equal(before.balancing, 'weighted-round-robin');
    assert.equal(inForce.index, 42);
    assert.equal(inForce.read().balancing, 'least-request');
    assert.equal(inForce.sources.balancing, 'policy');
    assert.equal(inForce.sources.timeoutMs, 'default');
    assert.equal(changes.length, 1);
    assert.equal(changes[0]!.previous, before);
    assert.equal(before.retries.count, 1, 'the policy a request started with is never changed under it');
  });

  it('in-process, without flags, every field is a default until a policy sets it', () => {
    const inForce = new PolicyInForce(BEACON_POLICY_DEFAULTS);

    inForce.apply({ slowStart: '10s' }, 3);

    assert.equal(inForce.read().slowStartMs, 10_000);
    assert.deepEqual(Object.entries(inForce.sources).filter(([, source]) => source !== 'default'), [['slowStartMs', 'policy']]);
  });

  it('a removed policy (undefined) puts the flags back in force', () => {
    const inForce = new PolicyInForce(policyDefaults(parseProxyConfig(REQUIRED, {})!));
    inForce.apply({ timeout: '1s' }, 5);

    inForce.apply(undefined, 6);

    assert.equal(inForce.read().timeoutMs, 15_000);
    assert.equal(inForce.sources.timeoutMs, 'default');
    assert.equal(inForce.registered, undefined);
  });
});
