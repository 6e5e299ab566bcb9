import type { IncomingMessage, ServerResponse } from 'node:http';
import { performance } from 'node:perf_hooks';
import type { Duplex } from 'node:stream';
import type { Logger } from 'pino';
import { Pool } from 'undici';
import type { EffectivePolicy } from '../policy/effective-policy.js';
import type { Upstream } from '../upstream/upstream-pool.js';
import type { UpstreamChooser } from '../upstream/traffic-split.js';
import { logAccess } from './access-log.js';
import { Exchange } from './exchange.js';
import { requestHeaders } from './forwarded-headers.js';
import { Forwarding, type ForwardingContext } from './forwarding.js';
import type { ProxyMetrics } from './proxy-metrics.js';
import { acceptableRequestId, newRequestId } from './request-id.js';
import { RetryBudget } from './retry-budget.js';
import { forwardUpgrade } from './upgrade-forwarder.js';
import type { UpstreamTls } from './upstream-tls.js';

export interface HttpForwarderOptions {
  service: string;
  pool: UpstreamChooser;
  metrics: ProxyMetrics;
  /**
   * The policy in force, read once when a request starts (retries, timeouts, limits, hashOn):
   * a policy change reaches the next request, never one in flight. In-process users without a
   * registry policy pass `() => BEACON_DEFAULTS` (clients/policy/beacon-defaults.ts).
   */
  policy: () => EffectivePolicy;
  /** When given, one JSON line per request (method, path, status, instance, tries, duration, request id). */
  accessLog?: Logger;
  /** For the back-off's jitter. */
  random?: () => number;
  /** TLS to the instances (`--upstream-tls-ca`); plain HTTP without it. */
  upstreamTls?: UpstreamTls;
  /** `https` behind a TLS listener: what X-Forwarded-Proto says when no proxy in front set it. */
  clientProto?: 'http' | 'https';
}

/**
 * Forwards HTTP/1.1 requests to the pool's instances over keep-alive connection pools
 * (undici, one Pool per instance), streaming bodies both ways without buffering them.
 */
export class HttpForwarder {
  private readonly connections = new Map<Upstream, Connections>();
  private readonly upgraded = new Set<Duplex>();
  private readonly budget = new RetryBudget();
  private readonly policy: () => EffectivePolicy;
  private readonly clientProto: 'http' | 'https';

  private readonly context: ForwardingContext;

  constructor(private readonly options: HttpForwarderOptions) {
    this.policy = options.policy;
    this.clientProto = options.clientProto ?? 'http';
    const { service, pool, metrics } = options;
    this.context = {
      service,
      pool,
      metrics,
      budget: this.budget,
      random: options.random ?? Math.random,
      connectionsTo: (upstream, policy) => this.connectionsTo(upstream, policy),
      ended: (exchange) => this.ended(exchange),
    };
  }

  readonly handle = (request: IncomingMessage, response: ServerResponse): void => {
    const policy = this.policy();
    const given = request.headers['x-request-id'];
    const exchange = new Exchange(request, response, acceptableRequestId(given) ? given : newRequestId(), performance.now(), policy.timeoutMs);
    const headers = requestHeaders(request.rawHeaders, request.socket.remoteAddress, exchange.id, this.clientProto);
    this.budget.started();
    new Forwarding(this.context, exchange, policy, headers).next();
  };

  /** For the server's `upgrade` event: WebSocket and other upgrades, carried through to an instance. */
  readonly handleUpgrade = (request: IncomingMessage, socket: Duplex, head: Buffer): void => {
    const policy = this.policy();
    const { service, pool, metrics } = this.options;
    const { maxConnections, maxPendingRequests } = policy.limits;
    const { upstreamTls } = this.options;
    void forwardUpgrade(
      {
        service,
        pool,
        metrics,
        retries: policy.retries.count,
        connectTimeoutMs: policy.tryTimeoutMs,
        maxActive: maxConnections + maxPendingRequests,
        accessLog: this.options.accessLog,
        open: this.upgraded,
        proto: this.clientProto,
        ...(upstreamTls ? { connector: upstreamTls.connect } : {}),
      },
      request,
      socket,
      head,
    );
  };

  /** Retries in flight and requests in flight, for /stats and tests. */
  get retryBudget(): RetryBudget {
    return this.budget;
  }

  /** Closes the connections kept for an instance that left the set. */
  forget(upstream: Upstream): void {
    const connections = this.connections.get(upstream);
    if (!connections) return;
    this.connections.delete(upstream);
    void connections.pool.close();
  }

  /** Closes the connection pools and cuts upgraded connections (WebSockets) still open. */
  async close(): Promise<void> {
    for (const socket of this.upgraded) socket.destroy();
    this.upgraded.clear();
    const all = [...this.connections.values()];
    this.connections.clear();
    await Promise.all(all.map((connections) => connections.pool.destroy()));
  }

  /** Called once per request, when it is over. */
  private ended(exchange: Exchange): void {
    this.budget.ended();
    exchange.finish();
    const { request, response } = exchange;
    logAccess(this.options.accessLog, {
      method: request.method,
      path: request.url,
      status: response.headersSent ? response.statusCode : 0,
      instance: exchange.instance,
      tries: exchange.tries,
      started: exchange.started,
      requestId: exchange.id,
    });
  }

  private connectionsTo(upstream: Upstream, policy: EffectivePolicy): Pool {
    const { maxConnections } = policy.limits;
    const connectTimeoutMs = policy.tryTimeoutMs;
    const kept = this.connections.get(upstream);
    if (kept && kept.maxConnections === maxConnections && kept.connectTimeoutMs === connectTimeoutMs) return kept.pool;
    // undici fixes a pool's cap and connect timeout when it is made: a policy that changes them
    // gets a new pool, and the old one closes once the requests it holds are answered.
    if (kept) void kept.pool.close();
    const { upstreamTls } = this.options;
    const pool = upstreamTls
      ? upstreamTls.pool(upstream, { connections: maxConnections, connectTimeoutMs })
      : new Pool(`http://${upstream.hostPort}`, { connections: maxConnections, connect: { timeout: connectTimeoutMs } });
    this.connections.set(upstream, { pool, maxConnections, connectTimeoutMs });
    return pool;
  }
}

/** An instance's keep-alive connections, with the settings they were made with. */
interface Connections {
  pool: Pool;
  maxConnections: number;
  connectTimeoutMs: number;
}
