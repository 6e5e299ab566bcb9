import { type Balancing, durationOf, type RetryOn, type TrafficPolicy } from '../../contract/traffic-policy.js';

/** Where a field of the policy in force came from: the registry's policy, a flag given, or Beacon's default. */
export type PolicySource = 'policy' | 'flag' | 'default';

/** A target of `failover`: instances of this service carrying a tag, or another service. */
export type FailoverTarget = { tag: string } | { service: string };

/**
 * The traffic policy a proxy follows, every field decided and in numbers: the service's policy
 * from the registry where it says something, the proxy's flags where it does not (SPEC:
 * Traffic policy). Plain data: the proxy's parts read it on each request, so a new policy is
 * in force from the next request on.
 */
export interface EffectivePolicy {
  balancing: Balancing;
  /** What ring-hash hashes (lower-cased header name, or cookie name); undefined unless ring-hash. */
  hashOn: { header: string } | { cookie: string } | undefined;
  /** Over all tries, connecting included. */
  timeoutMs: number;
  tryTimeoutMs: number;
  retries: {
    count: number;
    on: ReadonlySet<RetryOn>;
    /** Retries in flight at most this share (0-1) of requests in flight. */
    budget: number;
    backoff: { baseMs: number; maxMs: number };
  };
  outlier: {
    consecutiveFailures: number;
    consecutiveGatewayErrors: number;
    baseEjectionTimeMs: number;
    maxEjectionTimeMs: number;
    /** Most instances ejected at once, as a share (0-1); at least one may always be. */
    maxEjection: number;
  };
  /** Below this share (0-1) of usable instances, balance over all healthy ones. */
  panicThreshold: number;
  slowStartMs: number;
  limits: { maxConnections: number; maxPendingRequests: number };
  split: readonly { tag: string; weight: number }[] | undefined;
  failover: readonly FailoverTarget[] | undefined;
}

/** The top-level fields, each with the source it came from (shown by the admin `/stats`). */
export type PolicySources = Record<keyof EffectivePolicy, PolicySource>;

/**
 * What the flags say: each field's value when the policy is silent, and whether a flag set it
 * (`flag`) or it is Beacon's default (`default`).
 */
export interface PolicyDefaults {
  values: EffectivePolicy;
  sources: PolicySources;
}

/**
 * The policy in force: each top-level field from the registry's policy when it sets it, else
 * from the flags. Within `retries`, `outlier` and `limits`, a field the policy leaves out also
 * comes from the flags, so `{"retries": {"count": 1}}` changes the count and nothing else.
 */
export function resolvePolicy(policy: TrafficPolicy | undefined, defaults: PolicyDefaults): { policy: EffectivePolicy; sources: PolicySources } {
  const base = defaults.values;
  const sources: PolicySources = { ...defaults.sources };
  if (!policy) return { policy: base, sources };
  const from = <K extends keyof EffectivePolicy>(field: K, set: boolean, value: () => EffectivePolicy[K]): EffectivePolicy[K] => {
    if (!set) return base[field];
    sources[field] = 'policy';
    return value();
  };
  const { retries, outlier, limits } = policy;
  return {
    policy: {
      balancing: from('balancing', policy.balancing !== undefined, () => policy.balancing!),
      hashOn: from('hashOn', policy.hashOn !== undefined, () => (policy.hashOn!.header !== undefined ? { header: policy.hashOn!.header.toLowerCase() } : { cookie: policy.hashOn!.cookie! })),
      timeoutMs: from('timeoutMs', policy.timeout !== undefined, () => durationOf(policy.timeout!)),
      tryTimeoutMs: from('tryTimeoutMs', policy.tryTimeout !== undefined, () => durationOf(policy.tryTimeout!)),
      retries: from('retries', retries !== undefined, () => ({
        count: retries!.count ?? base.retries.count,
        on: retries!.on ? new Set(retries!.on) : base.retries.on,
        budget: retries!.budgetPercent !== undefined ? retries!.budgetPercent / 100 : base.retries.budget,
        backoff: {
          baseMs: retries!.backoff?.base !== undefined ? durationOf(retries!.backoff.base) : base.retries.backoff.baseMs,
          maxMs: retries!.backoff?.max !== undefined ? durationOf(retries!.backoff.max) : base.retries.backoff.maxMs,
        },
      })),
      outlier: from('outlier', outlier !== undefined, () => ({
        consecutiveFailures: outlier!.consecutiveFailures ?? base.outlier.consecutiveFailures,
        consecutiveGatewayErrors: outlier!.consecutiveGatewayErrors ?? base.outlier.consecutiveGatewayErrors,
        baseEjectionTimeMs: outlier!.baseEjectionTime !== undefined ? durationOf(outlier!.baseEjectionTime) : base.outlier.baseEjectionTimeMs,
        maxEjectionTimeMs: outlier!.maxEjectionTime !== undefined ? durationOf(outlier!.maxEjectionTime) : base.outlier.maxEjectionTimeMs,
        maxEjection: outlier!.maxEjectionPercent !== undefined ? outlier!.maxEjectionPercent / 100 : base.outlier.maxEjection,
      })),
      panicThreshold: from('panicThreshold', policy.panicThreshold !== undefined, () => policy.panicThreshold! / 100),
      slowStartMs: from('slowStartMs', policy.slowStart !== undefined, () => durationOf(policy.slowStart!)),
      limits: from('limits', limits !== undefined, () => ({
        maxConnections: limits!.maxConnections ?? base.limits.maxConnections,
        maxPendingRequests: limits!.maxPendingRequests ?? base.limits.maxPendingRequests,
      })),
      split: from('split', policy.split !== undefined, () => policy.split!),
      failover: from('failover', policy.failover !== undefined, () => policy.failover!),
    },
    sources,
  };
}
