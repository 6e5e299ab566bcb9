import type { IncomingMessage, ServerResponse } from 'node:http';
import { performance } from 'node:perf_hooks';
import type { Duplex } from 'node:stream';
import { setTimeout as pause } from 'node:timers/promises';
import type { Logger } from 'pino';
import { Pool } from 'undici';
import { hashKeyOf } from '../balancing/hash-key.js';
import type { EffectivePolicy } from '../policy/effective-policy.js';
import type { Upstream } from '../upstream/upstream-pool.js';
import type { UpstreamChooser } from '../upstream/traffic-split.js';
import { Exchange } from './exchange.js';
import { requestHeaders, setRequestId } from './forwarded-headers.js';
import type { HeldResponse } from './held-response.js';
import type { ProxyMetrics } from './proxy-metrics.js';
import { type ProxyError, proxyError, sendError } from './proxy-errors.js';
import { RequestBody } from './request-body.js';
import { acceptableRequestId, newRequestId } from './request-id.js';
import { RetryBudget } from './retry-budget.js';
import { retriable, retryDelayMs, type TryFailure } from './retry-rules.js';
import { forwardUpgrade } from './upgrade-forwarder.js';
import { describeFailure, type TryPlan, tryOnce } from './upstream-try.js';

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
}

/** RFC 9110 §9.2.2: repeating these has the effect of sending them once. */
const IDEMPOTENT = new Set(['GET', 'HEAD', 'OPTIONS', 'TRACE', 'PUT', 'DELETE']);

/**
 * Forwards HTTP/1.1 requests to the pool's instances over keep-alive connection pools
 * (undici, one Pool per instance), streaming bodies both ways without buffering them.
 */
export class HttpForwarder {
  private readonly connections = new Map<Upstream, Pool>();
  private readonly upgraded = new Set<Duplex>();
  private readonly budget = new RetryBudget();
  private readonly policy: () => EffectivePolicy;
  private readonly random: () => number;

  constructor(private readonly options: HttpForwarderOptions) {
    this.policy = options.policy;
    this.random = options.random ?? Math.random;
  }

  readonly handle = (request: IncomingMessage, response: ServerResponse): void => {
    void this.forward(request, response);
  };

  /** For the server's `upgrade` event: WebSocket and other upgrades, carried through to an instance. */
  readonly handleUpgrade = (request: IncomingMessage, socket: Duplex, head: Buffer): void => {
    const policy = this.policy();
    const { service, pool, metrics } = this.options;
    void forwardUpgrade({ service, pool, metrics, retries: policy.retries.count, connectTimeoutMs: policy.tryTimeoutMs, open: this.upgraded }, request, socket, head);
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
    void connections.close();
  }

  /** Closes the connection pools and cuts upgraded connections (WebSockets) still open. */
  async close(): Promise<void> {
    for (const socket of this.upgraded) socket.destroy();
    this.upgraded.clear();
    const all = [...this.connections.values()];
    this.connections.clear();
    await Promise.all(all.map((connections) => connections.destroy()));
  }

  private async forward(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const policy = this.policy();
    const given = request.headers['x-request-id'];
    const kept = acceptableRequestId(given);
    const exchange = new Exchange(request, response, kept ? given : newRequestId(), performance.now(), policy.timeoutMs);
    const headers = requestHeaders(request.rawHeaders, request.socket.remoteAddress);
    if (!kept) setRequestId(headers, exchange.id);
    this.budget.started();
    try {
      await this.tries(exchange, policy, headers);
    } finally {
      this.budget.ended();
      exchange.finish();
      this.options.accessLog?.info(
        {
          method: request.method,
          path: request.url,
          status: response.headersSent ? response.statusCode : 0,
          instance: exchange.instance || undefined,
          tries: exchange.tries,
          durationMs: Math.round((performance.now() - exchange.started) * 1000) / 1000,
          requestId: exchange.id,
        },
        'request',
      );
    }
  }

  private async tries(exchange: Exchange, policy: EffectivePolicy, headers: string[]): Promise<void> {
    const { pool, metrics, service } = this.options;
    const { request, response } = exchange;
    const { retries, limits } = policy;
    const key = hashKeyOf(request.headers, policy.hashOn);
    const hasBody = request.headers['transfer-encoding'] !== undefined || (request.headers['content-length'] ?? '0') !== '0';
    const idempotent = IDEMPOTENT.has(request.method!);
    const tried: Upstream[] = [];
    let held: HeldResponse | undefined;
    let failure: ProxyError | undefined;
    let retryReason: TryFailure = 'reset';
    let budgeted = true;
    for (let attempt = 0; attempt <= retries.count && !exchange.aborted; attempt++) {
      const inBudget = attempt > 0 && budgeted;
      if (attempt > 0) {
        if (budgeted && !this.budget.acquire(retries.budget)) {
          metrics.retryBudgetExhausted();
          failure ??= proxyError(503, `the retry budget of "${service}" is spent: too many retries in flight`, 'retry-budget');
          break;
        }
        const delay = retryDelayMs(attempt, retries.backoff, this.random);
        if (delay >= 1) await pause(delay);
      }
      const pick = exchange.aborted ? undefined : pool.choose(tried, key);
      if (!pick) {
        if (inBudget) this.budget.release();
        break;
      }
      if (pick.upstream.active > limits.maxConnections + limits.maxPendingRequests) {
        pool.release(pick, 'abandoned');
        if (inBudget) this.budget.release();
        metrics.overflowed();
        failure ??= proxyError(503, `instance ${pick.upstream.id} of "${service}" has ${limits.maxPendingRequests} requests waiting for a connection already`, 'overflow');
        break;
      }
      if (attempt > 0) metrics.retried(retryReason);
      tried.push(pick.upstream);
      exchange.tries += 1;
      exchange.instance = pick.upstream.id;
      const remaining = policy.timeoutMs - (performance.now() - exchange.started);
      const resendable = !hasBody || RequestBody.untouched(request);
      const plan: TryPlan = {
        exchange,
        pick,
        pool,
        headers,
        body: hasBody,
        headersTimeoutMs: Math.max(1, Math.min(policy.tryTimeoutMs, remaining)),
        bodyTimeoutMs: policy.tryTimeoutMs,
        mayRetry: attempt < retries.count && idempotent && !hasBody,
        on: retries.on,
        held: undefined,
        failure: undefined,
        status: 0,
      };
      const result = await tryOnce(this.connectionsTo(pick.upstream, policy), plan, metrics);
      if (inBudget) this.budget.release();
      if (result.kind === 'answered') {
        this.answered(exchange, response.statusCode);
        return;
      }
      if (result.kind === 'held') {
        held = result.held;
        retryReason = result.failure;
        budgeted = true;
        continue;
      }
      failure = describeFailure(result.error, pick.upstream, service);
      const mayRetry = resendable && (!result.sent || idempotent) && retriable(result.failure, retries.on);
      if (!mayRetry || response.headersSent || response.destroyed) break;
      retryReason = result.failure;
      // A lost connection is retried outside the budget: the instance is answering nothing, so
      // the retry moves its load rather than adding to it, and a crashed instance's requests
      // in flight (many at once) are not turned into errors. Timeouts and answers count.
      budgeted = !result.lostConnection;
    }
    if (response.headersSent || response.destroyed || exchange.abortReason === 'client-gone') {
      // The answer had begun (or the client left) when the upstream failed: all that is left
      // is to cut the connection, so the client sees a broken response rather than a short one.
      response.destroy();
      metrics.answered('aborted');
      return;
    }
    if (held) {
      // No other instance could be tried: the client gets an instance's own answer rather
      // than one the proxy makes up.
      held.replay();
      this.answered(exchange, held.status);
      return;
    }
    if (exchange.abortReason === 'deadline') {
      failure = proxyError(504, `no instance of "${service}" answered within ${policy.timeoutMs} ms`, 'timeout');
    }
    if (!failure) {
      metrics.unavailable();
      failure = proxyError(503, unavailableMessage(service, pool, tried.length), 'no-instance');
    }
    sendError(response, failure, exchange.id);
    this.answered(exchange, failure.statusCode);
  }

  private answered(exchange: Exchange, status: number): void {
    this.options.metrics.answered(status);
    this.options.metrics.observeDuration((performance.now() - exchange.started) / 1000);
  }

  private connectionsTo(upstream: Upstream, policy: EffectivePolicy): Pool {
    let connections = this.connections.get(upstream);
    if (!connections) {
      // The connection cap and connect timeout are the policy's when the pool is made.
      connections = new Pool(`http://${upstream.hostPort}`, { connections: policy.limits.maxConnections, connect: { timeout: policy.tryTimeoutMs } });
      this.connections.set(upstream, connections);
    }
    return connections;
  }
}

function unavailableMessage(service: string, pool: UpstreamChooser, tried: number): string {
  const registered = pool.members.length;
  if (registered === 0) return `no healthy instance of "${service}" is registered`;
  return `no usable instance of "${service}": ${registered} healthy in the registry, ${pool.ejected} ejected by circuit breakers, ${tried} tried`;
}
