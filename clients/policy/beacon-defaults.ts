import type { EffectivePolicy, PolicyDefaults, PolicySources } from './effective-policy.js';

/**
 * What a proxy does when neither the service's policy nor a flag says otherwise. The flagged
 * fields match the flags' own defaults (`beacon proxy --help`); the others are Envoy's where
 * Envoy has one (retry budget 20%, back-off 25 ms doubling to 250 ms, 5 gateway errors in a
 * row, connection and pending-request limits of 1024) and "off" where turning a feature on
 * should be a decision (slow start, split, failover). docs/proxy.md has the table.
 */
export const BEACON_DEFAULTS: EffectivePolicy = Object.freeze({
  balancing: 'weighted-round-robin',
  hashOn: undefined,
  timeoutMs: 15_000,
  tryTimeoutMs: 5_000,
  retries: {
    count: 2,
    // What the proxy retried before policies existed: a connection that failed or broke, and a 5xx (idempotent requests only).
    on: new Set(['connect-failure', 'reset', '5xx'] as const),
    budget: 0.2,
    backoff: { baseMs: 25, maxMs: 250 },
  },
  outlier: { consecutiveFailures: 5, consecutiveGatewayErrors: 5, baseEjectionTimeMs: 1_000, maxEjectionTimeMs: 30_000, maxEjection: 0.5 },
  panicThreshold: 0.5,
  slowStartMs: 0,
  limits: { maxConnections: 1024, maxPendingRequests: 1024 },
  split: undefined,
  failover: undefined,
});

/** Beacon's defaults as the defaults of a policy, every field marked `default` (no flags, as in-process). */
export const BEACON_POLICY_DEFAULTS: PolicyDefaults = {
  values: BEACON_DEFAULTS,
  sources: Object.fromEntries(Object.keys(BEACON_DEFAULTS).map((field) => [field, 'default'])) as PolicySources,
};
