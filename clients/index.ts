/**
 * Beacon's client library, for in-process use: everything `beacon proxy` is built from, so a
 * service can register itself, follow another service's instances, and balance over them
 * with breakers without a proxy hop. See docs/clients.md.
 */
export { Backoff, type BackoffOptions } from './backoff.js';
export { createPolicy, POLICY_NAMES, type BalancingPolicy, type PolicyName } from './balancing/policy.js';
export type { Endpoint } from './balancing/endpoint.js';
export { hashKeyOf, type HashOn } from './balancing/hash-key.js';
export {
  BREAKER_TRANSITIONS,
  CircuitBreaker,
  DEFAULT_BREAKER_OPTIONS,
  type BreakerOptions,
  type BreakerPermit,
  type BreakerState,
  type BreakerTransition,
} from './breaker/circuit-breaker.js';
export type { FailureRateOptions } from './breaker/failure-window.js';
export { SrvResolver, DnsLookupError, type SrvResolverOptions, type SrvTarget } from './dns/srv-resolver.js';
export { RegistryClientError, type RegistryClientErrorCode } from './registry/errors.js';
export type { TlsRemedy } from './registry/tls-failure.js';
export { readTlsFiles, TlsFileError, type TlsFlagNames, type TlsMaterial, type TlsPaths } from './tls/tls-files.js';
export { InstanceWatcher, type InstanceWatcherOptions } from './registry/instance-watcher.js';
export { RegistryApi, type InstanceList, type InstanceListQuery, type ListQuery, type RegistryApiOptions, type ServiceList } from './registry/registry-api.js';
export type { AnswerBody, ApiHeartbeat, ApiInstance, ApiMaintenanceChange, ApiRegistration, ApiServiceSummary, RequestBody } from './registry/openapi-contract.js';
export type { components, paths } from './registry/openapi-types.js';
export { deregisterOnSignals, RegistryClient, type RegistryClientOptions } from './registry/registry-client.js';
export { type AttemptOutcome, type UpstreamPick, Upstream, type UpstreamAddress, UpstreamPool, type UpstreamPoolHooks, type UpstreamPoolOptions } from './upstream/upstream-pool.js';
export { startProxy, type RunningProxy } from './proxy/proxy.js';
export { parseProxyConfig, type ProxyConfig } from './proxy/proxy-config.js';
export { PolicyWatcher, type PolicyWatcherEvents, type PolicyWatcherOptions } from './registry/policy-watcher.js';
export { BEACON_DEFAULTS, BEACON_POLICY_DEFAULTS } from './policy/beacon-defaults.js';
export { PolicyInForce } from './policy/policy-in-force.js';
export { resolvePolicy, type EffectivePolicy, type FailoverTarget, type PolicyDefaults, type PolicySource, type PolicySources } from './policy/effective-policy.js';
export { TrafficPolicy } from '../contract/traffic-policy.js';
export { TrafficRouter, type TaggedAddress, type TrafficRouterOptions, type UpstreamChooser } from './upstream/traffic-split.js';
export { HttpForwarder, type HttpForwarderOptions } from './proxy/http-forwarder.js';
export { ProxyMetrics } from './proxy/proxy-metrics.js';
