import type { IncomingHttpHeaders } from 'node:http';
import type { Pool } from 'undici';
import type { RetryOn } from '../../contract/traffic-policy.js';
import type { Upstream, UpstreamPick } from '../upstream/upstream-pool.js';
import type { UpstreamChooser } from '../upstream/traffic-split.js';
import type { Exchange } from './exchange.js';
import { responseHeaders } from './forwarded-headers.js';
import { HeldResponse } from './held-response.js';
import type { ProxyMetrics } from './proxy-metrics.js';
import { type ProxyError, proxyError } from './proxy-errors.js';
import { RequestBody } from './request-body.js';
import { honoursRetryAfter, retriable, retryAfterMs, statusFailure, type TryFailure } from './retry-rules.js';

/**
 * Errors raised before any byte of the request left: another instance may get it, whatever
 * the method.
 */
const NOT_SENT = new Set(['ECONNREFUSED', 'UND_ERR_CONNECT_TIMEOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'EADDRNOTAVAIL', 'ENOTFOUND']);
const TIMEOUTS = new Set(['UND_ERR_CONNECT_TIMEOUT', 'UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT']);
/** What undici reports when the response it was writing into closed before the end. */
const CLIENT_GONE = new Set(['UND_ERR_ABORTED', 'ERR_STREAM_PREMATURE_CLOSE', 'ERR_STREAM_DESTROYED']);

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

/** One try's settings and state, handed to undici as `opaque` so the response factory is a shared function. */
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
  held: HeldResponse | undefined;
  failure: TryFailure | undefined;
  status: number;
}

/** Sends the exchange's request to the plan's instance once, streaming the answer to the client unless it is held back. */
export async function tryOnce(connections: Pool, plan: TryPlan, metrics: ProxyMetrics): Promise<TryResult> {
  const { exchange, pick, pool } = plan;
  const { request } = exchange;
  try {
    await connections.stream(
      {
        path: request.url!,
        method: request.method as 'GET',
        headers: plan.headers,
        body: plan.body ? new RequestBody(request) : null,
        headersTimeout: plan.headersTimeoutMs,
        bodyTimeout: plan.bodyTimeoutMs,
        signal: exchange,
        opaque: plan,
      },
      answer,
    );
    const { status } = plan;
    const outcome = status >= 500 ? 'failure' : 'success';
    pool.release(pick, outcome, status === 502 || status === 503 || status === 504);
    metrics.attempted(pick.upstream, outcome);
    if (plan.held && !plan.held.passedOn) return { kind: 'held', held: plan.held, failure: plan.failure! };
    return { kind: 'answered' };
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? '';
    // A client that left mid-answer says nothing about the instance: our response closed
    // early, without an error of its own, and undici aborted the upstream request. When the
    // instance broke off instead, undici destroyed our response with the instance's error.
    const clientGone = exchange.abortReason === 'client-gone' || (CLIENT_GONE.has(code) && !exchange.response.errored && exchange.abortReason === undefined);
    const outcome = clientGone ? 'abandoned' : 'failure';
    // Not reached, broken off, or timed out: Envoy counts these as gateway errors too.
    pool.release(pick, outcome, true);
    metrics.attempted(pick.upstream, outcome);
    const sent = !NOT_SENT.has(code);
    const lostConnection = !TIMEOUTS.has(code) && exchange.abortReason === undefined;
    return { kind: 'failed', error: error as NodeJS.ErrnoException, sent, failure: sent ? 'reset' : 'connect-failure', lostConnection };
  }
}

/** undici's response factory: where the instance's answer goes, the client or a held response. */
function answer({ statusCode, headers, opaque }: { statusCode: number; headers: IncomingHttpHeaders; opaque: unknown }) {
  const plan = opaque as TryPlan;
  const { exchange } = plan;
  plan.status = statusCode;
  if (honoursRetryAfter(statusCode)) {
    const ms = retryAfterMs(headers['retry-after'], Date.now());
    if (ms !== undefined) plan.pool.holdOff(plan.pick.upstream, ms);
  }
  if (plan.mayRetry) {
    const failure = statusFailure(statusCode);
    if (failure !== undefined && retriable(failure, plan.on) && HeldResponse.fits(headers['content-length'])) {
      plan.failure = failure;
      return (plan.held = new HeldResponse(statusCode, headers, exchange.response, () => {
        exchange.answered();
        return responseHeaders(headers, exchange.id);
      }));
    }
  }
  exchange.answered();
  exchange.response.writeHead(statusCode, responseHeaders(headers, exchange.id));
  return exchange.response;
}

/** The error the proxy answers with when a try failed and no other followed. */
export function describeFailure(error: NodeJS.ErrnoException, upstream: Upstream, service: string): ProxyError {
  const code = error.code ?? 'error';
  if (TIMEOUTS.has(code)) return proxyError(504, `instance ${upstream.id} of "${service}" timed out (${code})`, 'timeout');
  if (NOT_SENT.has(code)) return proxyError(503, `could not connect to instance ${upstream.id} of "${service}" at ${upstream.hostPort} (${code})`, 'connect-failure');
  return proxyError(502, `instance ${upstream.id} of "${service}" failed: ${error.message} (${code})`, 'upstream-error');
}
