import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { durationOf, TrafficPolicy } from '../../contract/traffic-policy.js';

/** The SPEC's example policy, every field set. */
const FULL = {
  balancing: 'ring-hash',
  hashOn: { header: 'X-User-Id' },
  timeout: '15s',
  tryTimeout: '5s',
  retries: { count: 2, on: ['connect-failure', 'reset', 'gateway-error', '5xx', 'retriable-4xx'], budgetPercent: 20, backoff: { base: '25ms', max: '250ms' } },
  outlier: { consecutiveFailures: 5, consecutiveGatewayErrors: 3, baseEjectionTime: '1s', maxEjectionTime: '30s', maxEjectionPercent: 50 },
  panicThreshold: 50,
  slowStart: '30s',
  limits: { maxConnections: 1024, maxPendingRequests: 1024 },
  split: [
    { tag: 'v1', weight: 90 },
    { tag: 'v2', weight: 10 },
  ],
  failover: [{ tag: 'standby' }, { service: 'web-dr' }],
};

/** The paths and messages of a refused policy, as "path: message" lines. */
function refusals(policy: unknown): string[] {
  const result = TrafficPolicy.safeParse(policy);
  assert.equal(result.success, false, `expected ${JSON.stringify(policy)} to be refused`);
  return result.error!.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`);
}

describe('TrafficPolicy', () => {
  it('accepts the SPEC example and gives back exactly what was sent', () => {
    assert.deepEqual(TrafficPolicy.parse(FULL), FULL);
  });

  it('accepts an empty policy: every field is optional', () => {
    assert.deepEqual(TrafficPolicy.parse({}), {});
  });

  it('names the field of every mistake', () => {
    assert.deepEqual(refusals({ balancing: 'fastest' }), ['balancing: must be one of weighted-round-robin, least-request, random, ring-hash']);
    assert.deepEqual(refusals({ timeout: '15' }), ['timeout: must be a duration with a unit, such as 250ms, 15s, 5m or 1h']);
    assert.deepEqual(refusals({ retries: { count: 11 } }), ['retries.count: must be 0-10']);
    assert.deepEqual(refusals({ retries: { on: ['timeout'] } }), ['retries.on.0: must be one of connect-failure, reset, gateway-error, 5xx, retriable-4xx']);
    assert.deepEqual(refusals({ outlier: { maxEjectionPercent: 101 } }), ['outlier.maxEjectionPercent: must be 0-100']);
    assert.deepEqual(refusals({ split: [{ tag: 'V1', weight: 1 }] }), ['split.0.tag: must be one lower-case DNS label: a-z, 0-9 and inner hyphens, 1-63 characters']);
    assert.deepEqual(refusals({ failover: [{ zone: 'b' }] }), ['failover.0: each entry must be {"tag": "..."} or {"service": "..."}']);
  });

  it('refuses fields it does not know, naming them', () => {
    const [refusal] = refusals({ retry: { count: 1 } });
    assert.match(refusal!, /retry/);
    assert.match(refusals({ outlier: { interval: '10s' } })[0]!, /interval/);
  });

  it('refuses combinations that cannot hold', () => {
    assert.deepEqual(refusals({ balancing: 'ring-hash' }), ['hashOn: is required when balancing is ring-hash']);
    assert.deepEqual(refusals({ hashOn: { cookie: 'session' } }), ['hashOn: applies only to balancing ring-hash: set "balancing": "ring-hash"']);
    assert.deepEqual(refusals({ balancing: 'ring-hash', hashOn: { header: 'a', cookie: 'b' } }), ['hashOn: must name exactly one of header or cookie']);
    assert.deepEqual(refusals({ timeout: '1s', tryTimeout: '2s' }), ['tryTimeout: must not be longer than timeout']);
    assert.deepEqual(refusals({ retries: { backoff: { base: '1s', max: '10ms' } } }), ['retries.backoff.max: must not be shorter than base']);
    assert.deepEqual(refusals({ outlier: { baseEjectionTime: '10s', maxEjectionTime: '1s' } }), ['outlier.maxEjectionTime: must not be shorter than baseEjectionTime']);
    assert.deepEqual(refusals({ split: [{ tag: 'v1', weight: 0 }] }), ['split: must give at least one tag a weight above 0']);
    assert.deepEqual(refusals({ split: [{ tag: 'v1', weight: 1 }, { tag: 'v1', weight: 2 }] }), ['split: must not repeat a tag']);
  });

  it('bounds durations between their minimum and a day', () => {
    assert.deepEqual(refusals({ timeout: '0ms' }), ['timeout: must be between 1ms and 24h']);
    assert.deepEqual(refusals({ slowStart: '25h' }), ['slowStart: must be between 0ms and 24h']);
    assert.equal(TrafficPolicy.parse({ slowStart: '0s' }).slowStart, '0s');
  });
});

describe('durationOf', () => {
  it('reads each unit', () => {
    assert.deepEqual(['250ms', '15s', '5m', '1h'].map(durationOf), [250, 15_000, 300_000, 3_600_000]);
  });
});
