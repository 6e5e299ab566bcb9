import { type Dispatcher, errors, type Pool } from 'undici';
import type { RetryOn } from '../../contract/traffic-policy.js';
import type { Upstream, UpstreamPick } from '../upstream/upstream-pool.js';
import type { UpstreamChooser } from '../upstream/traffic-split.js';
import type { Exchange } from './exchange.js';
import { answerHead } from './forwarded-headers.js';
import { HeldResponse } from './held-response.js';
import type { ProxyMetrics } from './proxy-metrics.js';
import { type ProxyError, proxyError } from './proxy-errors.js';
import { RequestBody } from './request-body.js';
import { tlsFailureReason } from './upstream-tls.js';
import { honoursRetryAfter, retriable, retryAfterMs, statusFailure, type TryFailure } from './retry-rules.js';

/**
 * Errors raised before any byte of the request left: another instance may get it, whatever
 * the method. A failed TLS handshake (a certificate that does not verify) is one too: the
 * connection never opened (`tlsFailureReason`).
 */
const NOT_SENT = new Set(['ECONNREFUSED', 'UND_ERR_CONNECT_TIMEOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'EADDRNOTAVAIL', 'ENOTFOUND']);

function notSent(code: string): boolean {
  return NOT_SENT.has(code) || tlsFailureReason(code) !== undefined;
}
const TIMEOUTS = new Set(['UND_ERR_CONNECT_TIMEOUT', 'UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT']);

/** How one try ended. */
export type TryResult =
  | { kind: 'answered' }
  /** An answer the policy retries, kept aside while another instance is tried. */
  | { kind: 'held'; held: HeldResponse; failure: TryFailure }
  /**
   * `lostConnection`: the connection failed or broke (not a timeout): the instance is not
   * answering anything, so a retry moves load off it rather than adding to it.
   */
  | { kind: 'failed'; error: NodeJS.ErrnoException; sent: boolean; failure: TryFailure; lostConnection: boolean };

const ANSWERED: TryResult = Object.freeze({ kind: 'answered' });

/** One try's settings. */
export interface TryPlan {
  exchange: Exchange;
  pick: UpstreamPick;
  pool: UpstreamChooser;
  headers: string[];
  body: boolean;
  headersTimeoutMs: number;
  bodyTimeoutMs: number;
  /** Whether another try may follow, by method, body, count and budget alike; then the policy's classes decide. */
  mayRetry: boolean;
  on: ReadonlySet<RetryOn>;
}

/** Told how a try ended: the request's tries (Forwarding). */
export interface TryWatcher {
  tryEnded(result: TryResult): void;
}

/**
 * One try as undici's dispatch handler: status, headers and body go straight from the
 * instance's connection into the client's response, with no stream or promise in between
 * (undici's `stream()` wraps each request in both, which the proxy bench measured at about a
 * tenth of the proxy's CPU). The client's pace holds the instance's connection back.
 *
 * It is written to the handler interface undici calls itself (`onConnect`, `onHeaders` with the
 * raw header list, `onData`, `onComplete`, `onError`). undici 7 marks it deprecated in favour
 * of `onRequestStart`…, but serves that one through a wrapper that adds two objects and a
 * parsed header object to every request (docs/benchmarks.md, "`beacon proxy` on undici's raw
 * handler", has the measurement). A newer undici that drops it fails the proxy's tests, not
 * silently.
 */
export class UpstreamTry implements Dispatcher.DispatchHandler {
  private abortRequest: ((error: Error) => void) | undefined;
  private resumeRequest: (() => void) | undefined;
  private held: HeldResponse | undefined;
  private failure: TryFailure | undefined;
  private status = 0;
  /** Body bytes still to come when the instance sent a Content-Length; -1 otherwise. */
  private bodyLeft = -1;
  /**
   * The body's last chunk, kept back so the response ends with it: Node then writes the head,
   * the body and the end in one go, where write() then end() costs it another tick and call.
   */
  private lastChunk: Buffer | undefined;
  private onDrain: (() => void) | undefined;

  constructor(
    private readonly plan: TryPlan,
    private readonly metrics: ProxyMetrics,
    private readonly watcher: TryWatcher,
  ) {}

  send(connections: Pool): void {
    const { plan } = this;
    const { request } = plan.exchange;
    plan.exchange.inFlight = this;
    connections.dispatch(
      {
        path: request.url!,
        method: request.method as Dispatcher.HttpMethod,
        headers: plan.headers,
        body: plan.body ? new RequestBody(request) : null,
        headersTimeout: plan.headersTimeoutMs,
        bodyTimeout: plan.bodyTimeoutMs,
      },
      this,
    );
  }

  /** Called by the exchange when its deadline passes or its client leaves. */
  abort(): void {
    // Before the request has a connection undici has not handed over its abort yet: onConnect aborts.
    this.abortRequest?.(new errors.RequestAbortedError());
  }

  onConnect(abort: (error?: Error) => void): void {
    this.abortRequest = abort;
    if (this.plan.exchange.aborted) this.abort();
  }

  onHeaders(statusCode: number, rawHeaders: Buffer[], resume: () => void): boolean {
    if (statusCode < 200) {
      passInterim(this.plan.exchange, statusCode, rawHeaders);
      return true;
    }
    const { plan } = this;
    const { exchange } = plan;
    this.status = statusCode;
    this.resumeRequest = resume;
    const head = answerHead(rawHeaders, exchange.id);
    if (honoursRetryAfter(statusCode)) {
      const ms = retryAfterMs(head.retryAfter, Date.now());
      if (ms !== undefined) plan.pool.holdOff(plan.pick.upstream, ms);
    }
    if (plan.mayRetry) {
      const failure = statusFailure(statusCode);
      if (failure !== undefined && retriable(failure, plan.on) && HeldResponse.fits(head.contentLength)) {
        this.failure = failure;
        this.held = new HeldResponse(statusCode, head.headers);
        return true;
      }
    }
    exchange.answered();
    if (head.contentLength !== undefined) this.bodyLeft = Number(head.contentLength);
    exchange.response.writeHead(statusCode, head.headers);
    return true;
  }

  onData(chunk: Buffer): boolean {
    const { held } = this;
    if (held) {
      if (held.keep(chunk)) return true;
      // Too large to hold back: the client gets it after all, and the try counts as answered.
      this.held = undefined;
      replay(held, this.plan.exchange, false);
      return true;
    }
    if (this.bodyLeft > 0) {
      this.bodyLeft -= chunk.length;
      if (this.bodyLeft === 0) {
        this.lastChunk = chunk;
        return true;
      }
    }
    const { response } = this.plan.exchange;
    if (response.write(chunk)) return true;
    this.onDrain ??= this.resumeRequest;
    if (this.onDrain) response.once('drain', this.onDrain);
    return false;
  }

  onComplete(): void {
    const { plan, status, held } = this;
    if (!held) plan.exchange.response.end(this.lastChunk);
    this.finished();
    const outcome = status >= 500 ? 'failure' : 'success';
    plan.pool.release(plan.pick, outcome, status === 502 || status === 503 || status === 504);
    this.metrics.attempted(plan.pick.upstream, outcome);
    this.watcher.tryEnded(held ? { kind: 'held', held, failure: this.failure! } : ANSWERED);
  }

  onError(error: Error): void {
    const { plan } = this;
    const { exchange } = plan;
    this.finished();
    const code = (error as NodeJS.ErrnoException).code ?? '';
    // A client that left says nothing about the instance.
    const outcome = exchange.abortReason === 'client-gone' ? 'abandoned' : 'failure';
    // Not reached, broken off, or timed out: Envoy counts these as gateway errors too.
    plan.pool.release(plan.pick, outcome, true);
    this.metrics.attempted(plan.pick.upstream, outcome);
    const sent = !notSent(code);
    const lostConnection = !TIMEOUTS.has(code) && exchange.abortReason === undefined;
    this.watcher.tryEnded({ kind: 'failed', error: error as NodeJS.ErrnoException, sent, failure: sent ? 'reset' : 'connect-failure', lostConnection });
  }

  private finished(): void {
    if (this.plan.exchange.inFlight === this) this.plan.exchange.inFlight = undefined;
    if (this.onDrain) this.plan.exchange.response.off('drain', this.onDrain);
  }
}

/**
 * An interim answer before the final one (RFC 9110 §15.2: a proxy forwards them): 102 and 103
 * Early Hints reach an HTTP/1.1 client through node's own writers. Others (node has no writer
 * for them) and any to an HTTP/1.0 client, which must not get one, are dropped; so is a 103
 * whose Link node refuses, rather than failing the request over a hint.
 */
function passInterim(exchange: Exchange, statusCode: number, rawHeaders: Buffer[]): void {
  const { request, response } = exchange;
  if (request.httpVersion !== '1.1' || response.headersSent) return;
  if (statusCode === 102) response.writeProcessing();
  if (statusCode !== 103) return;
  // The same fields a final answer would pass (hop-by-hop ones dropped), keyed as node wants them.
  const { headers } = answerHead(rawHeaders, exchange.id);
  const hints: Record<string, string | string[]> = {};
  for (let i = 0; i < headers.length; i += 2) {
    const name = headers[i]!.toLowerCase();
    const value = headers[i + 1]!;
    const seen = hints[name];
    hints[name] = seen === undefined ? value : [...(Array.isArray(seen) ? seen : [seen]), value];
  }
  try {
    response.writeEarlyHints(hints);
  } catch {
    // An invalid Link: the hint is only a hint.
  }
}

/**
 * Sends a held answer to the client, unchanged but for the proxy's own headers; `complete`
 * ends the response, otherwise the rest of the body follows.
 */
export function replay(held: HeldResponse, exchange: Exchange, complete: boolean): void {
  exchange.answered();
  exchange.response.writeHead(held.status, held.headers);
  if (complete) exchange.response.end(held.body);
  else exchange.response.write(held.body);
}

/** The error the proxy answers with when a try failed and no other followed. */
export function describeFailure(error: NodeJS.ErrnoException, upstream: Upstream, service: string): ProxyError {
  const code = error.code ?? 'error';
  if (TIMEOUTS.has(code)) return proxyError(504, `instance ${upstream.id} of "${service}" timed out (${code})`, 'timeout');
  if (notSent(code)) return proxyError(503, `could not connect to instance ${upstream.id} of "${service}" at ${upstream.hostPort} (${code})`, 'connect-failure');
  return proxyError(502, `instance ${upstream.id} of "${service}" failed: ${error.message} (${code})`, 'upstream-error');
}
