import { performance } from 'node:perf_hooks';
import type { Pool } from 'undici';
import { hashKeyOf } from '../balancing/hash-key.js';
import type { EffectivePolicy } from '../policy/effective-policy.js';
import type { Upstream } from '../upstream/upstream-pool.js';
import type { UpstreamChooser } from '../upstream/traffic-split.js';
import type { Exchange } from './exchange.js';
import type { HeldResponse } from './held-response.js';
import type { ProxyMetrics } from './proxy-metrics.js';
import { type ProxyError, proxyError, sendError } from './proxy-errors.js';
import { RequestBody } from './request-body.js';
import type { RetryBudget } from './retry-budget.js';
import { retriable, retryDelayMs, type TryFailure } from './retry-rules.js';
import { describeFailure, replay, type TryResult, type TryWatcher, UpstreamTry } from './upstream-try.js';

/** What a request's tries share with the rest of the proxy. */
export interface ForwardingContext {
  service: string;
  pool: UpstreamChooser;
  metrics: ProxyMetrics;
  budget: RetryBudget;
  /** For the back-off's jitter. */
  random: () => number;
  /** The instance's keep-alive connections, made with the policy's limits. */
  connectionsTo(upstream: Upstream, policy: EffectivePolicy): Pool;
  /** The exchange is over, answered or not. */
  ended(exchange: Exchange): void;
}

/** RFC 9110 §9.2.2: repeating these has the effect of sending them once. */
const IDEMPOTENT = new Set(['GET', 'HEAD', 'OPTIONS', 'TRACE', 'PUT', 'DELETE']);

/**
 * One request's tries, under the policy read when it arrived: pick an instance (the traffic
 * router: split, failover, balancing, breakers), check its limits, send, and on a failure the
 * policy retries, try another instance within the retry budget after a jittered back-off. When
 * nothing more may be tried, the client gets a held-back answer or the proxy's own error.
 * Driven by callbacks rather than promises: a request the first instance answers costs no
 * promise and no microtask (the proxy bench measured them at a few per cent of its CPU).
 */
export class Forwarding implements TryWatcher {
  private attempt = 0;
  private readonly tried: Upstream[] = [];
  private held: HeldResponse | undefined;
  private failure: ProxyError | undefined;
  private retryReason: TryFailure = 'reset';
  /** Whether the next retry takes a place in the retry budget (a lost connection does not). */
  private budgeted = true;
  /** Whether the try in flight holds a place in the retry budget. */
  private inBudget = false;
  private readonly key: string | undefined;
  private readonly hasBody: boolean;
  private readonly idempotent: boolean;

  constructor(
    private readonly context: ForwardingContext,
    private readonly exchange: Exchange,
    private readonly policy: EffectivePolicy,
    private readonly headers: string[],
  ) {
    const { request } = exchange;
    this.key = hashKeyOf(request.headers, policy.hashOn);
    this.hasBody = request.headers['transfer-encoding'] !== undefined || (request.headers['content-length'] ?? '0') !== '0';
    this.idempotent = IDEMPOTENT.has(request.method!);
  }

  /** Sends the first try, or the next one once a try failed. */
  next(): void {
    const { context, exchange, policy } = this;
    const { retries } = policy;
    if (this.attempt > retries.count || exchange.aborted) {
      this.giveUp();
      return;
    }
    this.inBudget = this.attempt > 0 && this.budgeted;
    if (this.attempt > 0) {
      if (this.budgeted && !context.budget.acquire(retries.budget)) {
        context.metrics.retryBudgetExhausted();
        this.failure ??= proxyError(503, `the retry budget of "${context.service}" is spent: too many retries in flight`, 'retry-budget');
        this.giveUp();
        return;
      }
      const delay = retryDelayMs(this.attempt, retries.backoff, context.random);
      if (delay >= 1) {
        setTimeout(sendAfterBackOff, delay, this);
        return;
      }
    }
    this.send();
  }

  send(): void {
    const { context, exchange, policy } = this;
    const { pool, metrics, service } = context;
    const { limits, retries } = policy;
    const pick = exchange.aborted ? undefined : pool.choose(this.tried, this.key);
    if (!pick) {
      this.leaveBudget();
      this.giveUp();
      return;
    }
    if (pick.upstream.active > limits.maxConnections + limits.maxPendingRequests) {
      pool.release(pick, 'abandoned');
      this.leaveBudget();
      metrics.overflowed();
      this.failure ??= proxyError(503, `instance ${pick.upstream.id} of "${service}" has ${limits.maxPendingRequests} requests waiting for a connection already`, 'overflow');
      this.giveUp();
      return;
    }
    if (this.attempt > 0) metrics.retried(this.retryReason);
    this.tried.push(pick.upstream);
    exchange.tries += 1;
    exchange.instance = pick.upstream.id;
    const remaining = policy.timeoutMs - (performance.now() - exchange.started);
    const upstreamTry = new UpstreamTry(
      {
        exchange,
        pick,
        pool,
        headers: this.headers,
        body: this.hasBody,
        headersTimeoutMs: Math.max(1, Math.min(policy.tryTimeoutMs, remaining)),
        bodyTimeoutMs: policy.tryTimeoutMs,
        mayRetry: this.attempt < retries.count && this.idempotent && !this.hasBody,
        on: retries.on,
      },
      metrics,
      this,
    );
    upstreamTry.send(context.connectionsTo(pick.upstream, policy));
  }

  tryEnded(result: TryResult): void {
    const { context, exchange } = this;
    const { response } = exchange;
    this.leaveBudget();
    if (result.kind === 'answered') {
      this.answered(response.statusCode);
      return;
    }
    this.attempt += 1;
    if (result.kind === 'held') {
      this.held = result.held;
      this.retryReason = result.failure;
      this.budgeted = true;
      this.next();
      return;
    }
    const pick = this.tried[this.tried.length - 1]!;
    this.failure = describeFailure(result.error, pick, context.service);
    const resendable = !this.hasBody || RequestBody.untouched(exchange.request);
    const mayRetry = resendable && (!result.sent || this.idempotent) && retriable(result.failure, this.policy.retries.on);
    if (!mayRetry || response.headersSent || response.destroyed) {
      this.giveUp();
      return;
    }
    this.retryReason = result.failure;
    // A lost connection is retried outside the budget: the instance is answering nothing, so
    // the retry moves its load rather than adding to it, and a crashed instance's requests
    // in flight (many at once) are not turned into errors. Timeouts and answers count.
    this.budgeted = !result.lostConnection;
    this.next();
  }

  /** Nothing more may be tried: the client gets what is left to give. */
  private giveUp(): void {
    const { context, exchange, policy } = this;
    const { metrics, service, pool } = context;
    const { response } = exchange;
    if (response.headersSent || response.destroyed || exchange.abortReason === 'client-gone') {
      // The answer had begun (or the client left) when the upstream failed: all that is left
      // is to cut the connection, so the client sees a broken response rather than a short one.
      response.destroy();
      metrics.answered('aborted');
      context.ended(exchange);
      return;
    }
    if (this.held) {
      // No other instance could be tried: the client gets an instance's own answer rather
      // than one the proxy makes up.
      replay(this.held, exchange, true);
      this.answered(this.held.status);
      return;
    }
    let failure = this.failure;
    if (exchange.abortReason === 'deadline') failure = proxyError(504, `no instance of "${service}" answered within ${policy.timeoutMs} ms`, 'timeout');
    if (!failure) {
      metrics.unavailable();
      failure = proxyError(503, unavailableMessage(service, pool, this.tried.length), 'no-instance');
    }
    sendError(response, failure, exchange.id);
    this.answered(failure.statusCode);
  }

  private answered(status: number): void {
    const { context, exchange } = this;
    context.metrics.answered(status);
    context.metrics.observeDuration((performance.now() - exchange.started) / 1000);
    context.ended(exchange);
  }

  private leaveBudget(): void {
    if (!this.inBudget) return;
    this.inBudget = false;
    this.context.budget.release();
  }
}

function sendAfterBackOff(forwarding: Forwarding): void {
  forwarding.send();
}

function unavailableMessage(service: string, pool: UpstreamChooser, tried: number): string {
  const registered = pool.members.length;
  if (registered === 0) return `no healthy instance of "${service}" is registered`;
  return `no usable instance of "${service}": ${registered} healthy in the registry, ${pool.ejected} ejected by circuit breakers, ${tried} tried`;
}
