import type { EffectivePolicy } from '../policy/effective-policy.js';

/** The numbers a forwarder was built with before policies: its retries and timeouts. */
export interface ForwarderNumbers {
  retries: number;
  tryTimeoutMs: number;
  timeoutMs: number;
}

/**
 * The policy a forwarder follows when it is given none (in-process use, tests): its own
 * numbers, and Beacon's defaults for everything else (docs/proxy.md).
 */
export function policyFromNumbers({ retries, tryTimeoutMs, timeoutMs }: ForwarderNumbers): EffectivePolicy {
  return {
    balancing: 'weighted-round-robin',
    hashOn: undefined,
    timeoutMs,
    tryTimeoutMs,
    retries: { count: retries, on: new Set(['connect-failure', 'reset', '5xx']), budget: 0.2, backoff: { baseMs: 25, maxMs: 250 } },
    outlier: { consecutiveFailures: 5, consecutiveGatewayErrors: 5, baseEjectionTimeMs: 1_000, maxEjectionTimeMs: 30_000, maxEjection: 0.5 },
    panicThreshold: 0.5,
    slowStartMs: 0,
    limits: { maxConnections: 1024, maxPendingRequests: 1024 },
    split: undefined,
    failover: undefined,
  };
}
