import { isDeepStrictEqual } from 'node:util';
import type { Logger } from 'pino';
import type { Instance } from '../../contract/instance.js';
import { type BalancingPolicy, createPolicy } from '../balancing/policy.js';
import type { BreakerOptions } from '../breaker/circuit-breaker.js';
import type { EffectivePolicy, PolicySources } from '../policy/effective-policy.js';
import type { PolicyChange, PolicyInForce } from '../policy/policy-in-force.js';
import { InstanceWatcher } from '../registry/instance-watcher.js';
import type { FollowedService, TrafficRouter } from '../upstream/traffic-split.js';
import { type Upstream, type UpstreamAddress, UpstreamPool, type UpstreamPoolHooks } from '../upstream/upstream-pool.js';
import { withTlsAdvice } from '../tls/registry-tls.js';
import { type ProxyConfig, registryHop } from './proxy-config.js';

/**
 * How the policy in force reaches the proxy's parts. Forwarders read it per request on their
 * own; the pools hold state (balancing scores, breakers), so each change is pushed into them
 * here: a new balancing object when the balancing changes, new thresholds, and new breaker
 * settings for breakers made from now on (a breaker keeps its own mid-count).
 */
export class PolicyFollower {
  constructor(
    private readonly config: ProxyConfig,
    private readonly inForce: PolicyInForce,
    private readonly hooks: UpstreamPoolHooks,
    private readonly log: Logger,
  ) {}

  /** A pool with the settings in force: one per group of instances the router keeps. */
  readonly newPool = (): UpstreamPool => {
    const policy = this.inForce.policy;
    return new UpstreamPool({
      policy: this.balancingFor(policy),
      breaker: this.breakerFor(policy),
      panicThreshold: policy.panicThreshold,
      maxEjectedShare: policy.outlier.maxEjection,
      slowStartMs: policy.slowStartMs,
      // Outlier settings and the panic threshold are read from the policy in force on each pick and failure.
      trafficPolicy: () => this.inForce.policy,
      hooks: this.hooks,
    });
  };

  /** Follows a failover target's healthy instances with a watcher of its own. */
  readonly follow = (service: string, update: (instances: readonly UpstreamAddress[]) => void): FollowedService => {
    const watcher = new InstanceWatcher({ ...registryHop(this.config), service });
    watcher.on('change', (instances, index) => {
      update(instances.map(toUpstreamAddress));
      this.log.info({ failover: service, instances: instances.length, index }, 'failover service instance set changed');
    });
    watcher.on('unreachable', (error, retryInMs) => this.log.warn({ failover: service, err: withTlsAdvice(error), retryInMs }, 'registry unreachable for a failover service'));
    watcher.start();
    this.log.info({ failover: service }, 'following a failover service');
    return { close: () => watcher.close() };
  };

  /** Pushes a change into the router and its pools, and logs it. */
  apply(router: TrafficRouter, change: PolicyChange): void {
    const { policy, previous, sources, index } = change;
    const balancingChanged = policy.balancing !== previous.balancing;
    for (const pool of router.pools()) {
      if (balancingChanged) pool.setBalancing(this.balancingFor(policy));
      pool.setThresholds({ panicThreshold: policy.panicThreshold, maxEjectedShare: policy.outlier.maxEjection });
      pool.setSlowStart(policy.slowStartMs);
      pool.setBreakerOptions(this.breakerFor(policy));
    }
    if (!isDeepStrictEqual(policy.split, previous.split) || !isDeepStrictEqual(policy.failover, previous.failover)) router.route(policy.split, policy.failover);
    this.log.info({ service: this.config.service, index, policy: policyView(policy, sources) }, `traffic policy at index ${index} applied`);
  }

  private balancingFor(policy: EffectivePolicy): BalancingPolicy<Upstream> {
    return createPolicy<Upstream>(policy.balancing);
  }

  private breakerFor(policy: EffectivePolicy): BreakerOptions {
    const { breaker } = this.config;
    const { outlier } = policy;
    return {
      ...breaker,
      consecutiveFailures: outlier.consecutiveFailures,
      consecutiveGatewayErrors: outlier.consecutiveGatewayErrors,
      openTime: { ...breaker.openTime, baseMs: outlier.baseEjectionTimeMs, maxMs: outlier.maxEjectionTimeMs },
    };
  }
}

/** The policy in force as JSON: each field's value (sets as lists) and where it came from. */
export function policyView(policy: EffectivePolicy, sources: PolicySources): Record<string, { value: unknown; source: string }> {
  const view: Record<string, { value: unknown; source: string }> = {};
  for (const field of Object.keys(sources) as (keyof EffectivePolicy)[]) {
    const value = field === 'retries' ? { ...policy.retries, on: [...policy.retries.on] } : policy[field];
    view[field] = { value: value ?? null, source: sources[field] };
  }
  return view;
}

export function toUpstreamAddress(instance: Instance): UpstreamAddress {
  const tlsServerName = instance.meta['tls-server-name'];
  return { id: instance.id, address: instance.address, port: instance.port, weight: instance.weight, ...(tlsServerName ? { tlsServerName } : {}) };
}
