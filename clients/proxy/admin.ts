import type { IncomingMessage, RequestListener, ServerResponse } from 'node:http';
import type { PolicyInForce } from '../policy/policy-in-force.js';
import type { InstanceWatcher } from '../registry/instance-watcher.js';
import type { TrafficRouter } from '../upstream/traffic-split.js';
import { policyView } from './policy-follower.js';
import { proxyError, sendError } from './proxy-errors.js';
import type { ProxyConfig } from './proxy-config.js';
import type { ProxyMetrics } from './proxy-metrics.js';

export interface AdminSources {
  config: ProxyConfig;
  pool: TrafficRouter;
  policy: PolicyInForce;
  metrics: ProxyMetrics;
  watcher: InstanceWatcher;
  registryReachable(): boolean;
}

/**
 * What GET /stats answers: the proxy's view of the service, one entry per instance (with the
 * groups a split or failover put it in), and the traffic policy in force, each field with its
 * source (`policy`, `flag` or `default`) and the registry index it came from.
 */
export function proxyStats({ config, pool, policy, watcher, registryReachable }: AdminSources) {
  const groups = new Map<string, string[]>();
  for (const { group, members } of pool.groups()) {
    for (const upstream of members) groups.set(upstream.id, [...(groups.get(upstream.id) ?? []), group]);
  }
  return {
    service: config.service,
    tag: config.tag ?? null,
    mode: config.mode,
    policy: policy.policy.balancing,
    trafficPolicy: { index: policy.index, registered: policy.registered ?? null, inForce: policyView(policy.policy, policy.sources) },
    registry: { url: config.registry, reachable: registryReachable(), index: watcher.index },
    panic: pool.inPanic,
    ejected: pool.ejected,
    instances: pool.members.map((upstream) => ({
      id: upstream.id,
      address: upstream.address,
      port: upstream.port,
      weight: upstream.weight,
      active: upstream.active,
      groups: groups.get(upstream.id) ?? [],
      breaker: upstream.breaker.state,
      reopensAt: upstream.breaker.reopensAt ? new Date(upstream.breaker.reopensAt).toISOString() : null,
    })),
  };
}

/** The admin listener: GET /metrics (Prometheus), GET /stats (JSON), GET /healthz. */
export function adminHandler(sources: AdminSources): RequestListener {
  return (request: IncomingMessage, response: ServerResponse) => {
    const path = (request.url ?? '/').split('?')[0];
    if (request.method !== 'GET' && request.method !== 'HEAD') {
      return sendError(response, proxyError(405, `${request.method} is not allowed here: the admin endpoints are GET /metrics, /stats and /healthz`));
    }
    if (path === '/metrics') {
      sources.metrics.registry.metrics().then(
        (text) => {
          response.writeHead(200, { 'content-type': sources.metrics.registry.contentType });
          response.end(text);
        },
        (error: Error) => sendError(response, proxyError(500, `metrics failed: ${error.message}`)),
      );
      return;
    }
    if (path === '/stats') return sendJson(response, proxyStats(sources));
    if (path === '/healthz') return sendJson(response, { status: 'ok' });
    sendError(response, proxyError(404, `no admin endpoint ${path}: try /metrics, /stats or /healthz`));
  };
}

function sendJson(response: ServerResponse, value: unknown): void {
  const body = JSON.stringify(value);
  response.writeHead(200, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(body) });
  response.end(body);
}
