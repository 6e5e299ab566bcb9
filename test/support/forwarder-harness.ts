import { once } from 'node:events';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach } from 'node:test';
import type { Logger } from 'pino';
import { createPolicy } from '../../clients/balancing/policy.js';
import type { EffectivePolicy } from '../../clients/policy/effective-policy.js';
import { BEACON_DEFAULTS } from '../../clients/policy/beacon-defaults.js';
import { HttpForwarder } from '../../clients/proxy/http-forwarder.js';
import { ProxyMetrics } from '../../clients/proxy/proxy-metrics.js';
import { type Upstream, UpstreamPool, type UpstreamPoolOptions } from '../../clients/upstream/upstream-pool.js';
import { type Backend, type BackendHandler, startBackend } from './backends.js';

/** A forwarder over real backends behind a real node:http server, with the pool fed directly (no registry). */
export interface ForwarderHarness {
  url: string;
  port: number;
  pool: UpstreamPool;
  metrics: ProxyMetrics;
  forwarder: HttpForwarder;
  server: Server;
  backends: Backend[];
  close(): Promise<void>;
}

export interface HarnessOptions {
  /** Changes to Beacon's default policy (retries 2, try timeout 2 s, timeout 10 s). */
  policy?: (policy: EffectivePolicy) => void;
  pool?: Partial<UpstreamPoolOptions>;
  /** The pool follows the policy's outlier settings and panic threshold (else its own breaker options). */
  poolFollowsPolicy?: boolean;
  accessLog?: Logger;
}

/** Weighted round-robin over `handlers`' backends in order, so tests know which instance a try goes to. */
export async function forwarderHarness(handlers: BackendHandler[], options: HarnessOptions = {}): Promise<ForwarderHarness> {
  const backends = await Promise.all(handlers.map((handler, i) => startBackend(`b${i}`, handler)));
  const policy: EffectivePolicy = {
    ...BEACON_DEFAULTS,
    tryTimeoutMs: 2000,
    timeoutMs: 10_000,
    retries: { ...BEACON_DEFAULTS.retries, backoff: { ...BEACON_DEFAULTS.retries.backoff } },
    outlier: { ...BEACON_DEFAULTS.outlier },
    limits: { ...BEACON_DEFAULTS.limits },
  };
  options.policy?.(policy);
  const pool = new UpstreamPool({
    policy: createPolicy<Upstream>('weighted-round-robin'),
    ...(options.poolFollowsPolicy ? { trafficPolicy: () => policy } : {}),
    ...options.pool,
  });
  pool.update(backends.map((backend) => ({ id: backend.name, address: '127.0.0.1', port: backend.port, weight: 1 })));
  const metrics = new ProxyMetrics({ pool, registryReachable: () => true });
  const forwarder = new HttpForwarder({
    service: 'web',
    pool,
    metrics,
    policy: () => policy,
    ...(options.accessLog ? { accessLog: options.accessLog } : {}),
  });
  const server = createServer(forwarder.handle);
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    pool,
    metrics,
    forwarder,
    server,
    backends,
    async close() {
      server.closeAllConnections();
      server.close();
      await forwarder.close();
      await Promise.all(backends.map((backend) => backend.kill()));
    },
  };
}

/** A metric's value from the harness's registry, by its exact series text (`name{labels}`); 0 when absent. */
export async function metricValue(metrics: ProxyMetrics, series: string): Promise<number> {
  const text = await metrics.registry.metrics();
  for (const line of text.split('\n')) if (line.startsWith(`${series} `)) return Number(line.slice(series.length + 1));
  return 0;
}

export async function text(response: IncomingMessage): Promise<string> {
  let body = '';
  for await (const chunk of response) body += chunk;
  return body;
}

/** `forwarderHarness` for a test file: each harness started in a test is closed after it. */
export function harnessPerTest(): (handlers: BackendHandler[], options?: HarnessOptions) => Promise<ForwarderHarness> {
  const started: ForwarderHarness[] = [];
  afterEach(async () => {
    await Promise.all(started.splice(0).map((harness) => harness.close()));
  });
  return async (handlers, options) => {
    const harness = await forwarderHarness(handlers, options);
    started.push(harness);
    return harness;
  };
}
