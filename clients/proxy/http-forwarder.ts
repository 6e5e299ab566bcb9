import type { IncomingMessage, ServerResponse } from 'node:http';
import { performance } from 'node:perf_hooks';
import { Writable } from 'node:stream';
import { Pool } from 'undici';
import { hashKeyOf } from '../balancing/hash-key.js';
import type { EffectivePolicy } from '../policy/effective-policy.js';
import type { UpstreamChooser } from '../upstream/traffic-split.js';
import type { UpstreamPick, Upstream } from '../upstream/upstream-pool.js';
import { requestHeaders, responseHeaders } from './forwarded-headers.js';
import type { ProxyMetrics } from './proxy-metrics.js';
import { RequestBody } from './request-body.js';
import { type ProxyError, proxyError, sendError } from './proxy-errors.js';

export interface HttpForwarderOptions {
  service: string;
  pool: UpstreamChooser;
  metrics: ProxyMetrics;
  /**
   * The policy in force, read once when a request starts: `retries.count` further tries, each
   * to an instance not tried yet; `tryTimeoutMs` for connecting plus waiting for response
   * headers (also the longest pause within a response body); `timeoutMs` until response
   * headers, over all tries. A policy change reaches the next request, never one in flight.
   */
  policy: () => EffectivePolicy;
}

/** RFC 9110 §9.2.2: repeating these has the effect of sending them once. */
const IDEMPOTENT = new Set(['GET', 'HEAD', 'OPTIONS', 'TRACE', 'PUT', 'DELETE']);

/**
 * Errors raised before any byte of the request left: another instance may get it, whatever
 * the method.
 */
const NOT_SENT = new Set(['ECONNREFUSED', 'UND_ERR_CONNECT_TIMEOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'EADDRNOTAVAIL', 'ENOTFOUND']);
const TIMEOUTS = new Set(['UND_ERR_CONNECT_TIMEOUT', 'UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT']);
/** What undici reports when the response it was writing into closed before the end. */
const CLIENT_GONE = new Set(['UND_ERR_ABORTED', 'ERR_STREAM_PREMATURE_CLOSE', 'ERR_STREAM_DESTROYED']);

/** How one try ended. */
type TryResult =
  | { kind: 'answered' }
  /** A 5xx swallowed so another instance can be tried. */
  | { kind: 'retryable-status'; status: number }
  | { kind: 'failed'; error: NodeJS.ErrnoException; sent: boolean };

/**
 * Forwards HTTP/1.1 requests to the pool's instances over keep-alive connection pools
 * (undici, one Pool per instance), streaming bodies both ways without buffering them.
 */
export class HttpForwarder {
  private readonly connections = new Map<Upstream, Pool>();

  constructor(private readonly options: HttpForwarderOptions) {}

  readonly handle = (request: IncomingMessage, response: ServerResponse): void => {
    void this.forward(request, response);
  };

  /** Closes the connections kept for an instance that left the set. */
  forget(upstream: Upstream): void {
    const connections = this.connections.get(upstream);
    if (!connections) return;
    this.connections.delete(upstream);
    void connections.close();
  }

  async close(): Promise<void> {
    const all = [...this.connections.values()];
    this.connections.clear();
    await Promise.all(all.map((connections) => connections.destroy()));
  }

  private async forward(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const { pool, metrics } = this.options;
    const { retries: { count: retries }, tryTimeoutMs, timeoutMs, hashOn } = this.options.policy();
    const started = performance.now();
    const headers = requestHeaders(request.rawHeaders, request.socket.remoteAddress);
    const hasBody = request.headers['transfer-encoding'] !== undefined || (request.headers['content-length'] ?? '0') !== '0';
    const idempotent = IDEMPOTENT.has(request.method!);
    const tried: Upstream[] = [];
    const key = hashKeyOf(request.headers, hashOn);
    let failure: ProxyError | undefined;
    for (let attempt = 0; attempt <= retries; attempt++) {
      const remaining = timeoutMs - (performance.now() - started);
      if (remaining <= 0) {
        failure = proxyError(504, `no instance of "${this.options.service}" answered within ${timeoutMs} ms`);
        break;
      }
      const pick = pool.choose(tried, key);
      if (!pick) break;
      tried.push(pick.upstream);
      if (attempt > 0) metrics.retried();
      const mayRetry = attempt < retries;
      const result = await this.try(pick, request, response, {
        headers,
        body: hasBody,
        headersTimeoutMs: Math.min(tryTimeoutMs, remaining),
        bodyTimeoutMs: tryTimeoutMs,
        // A 5xx is swallowed only if another instance is there to replace it.
        retryableStatus: mayRetry && idempotent && !hasBody && tried.length < pool.members.length,
      });
      if (result.kind === 'answered') {
        metrics.answered(response.statusCode);
        metrics.observeDuration((performance.now() - started) / 1000);
        return;
      }
      if (result.kind === 'retryable-status') {
        failure = proxyError(502, `instance ${pick.upstream.id} answered ${result.status}`);
        continue;
      }
      failure = describeFailure(result.error, pick.upstream, this.options.service);
      const resendable = !hasBody || RequestBody.untouched(request);
      const retryable = resendable && (!result.sent || idempotent);
      if (!retryable || response.headersSent || response.destroyed) break;
    }
    if (response.headersSent || response.destroyed) {
      // The answer had begun (or the client left) when the upstream failed: all that is left
      // is to cut the connection, so the client sees a broken response rather than a short one.
      response.destroy();
      metrics.answered('aborted');
      return;
    }
    if (!failure) {
      metrics.unavailable();
      failure = proxyError(503, unavailableMessage(this.options.service, pool, tried.length));
    }
    sendError(response, failure);
    metrics.answered(failure.statusCode);
    metrics.observeDuration((performance.now() - started) / 1000);
  }

  private async try(
    pick: UpstreamPick,
    request: IncomingMessage,
    response: ServerResponse,
    plan: { headers: string[]; body: boolean; headersTimeoutMs: number; bodyTimeoutMs: number; retryableStatus: boolean },
  ): Promise<TryResult> {
    const { pool, metrics } = this.options;
    const { upstream } = pick;
    let status = 0;
    let swallowed = false;
    try {
      await this.connectionsTo(upstream).stream(
        {
          path: request.url!,
          method: request.method as 'GET',
          headers: plan.headers,
          body: plan.body ? new RequestBody(request) : null,
          headersTimeout: plan.headersTimeoutMs,
          bodyTimeout: plan.bodyTimeoutMs,
        },
        ({ statusCode, headers }) => {
          status = statusCode;
          if (statusCode >= 500 && plan.retryableStatus) {
            swallowed = true;
            return discard();
          }
          response.writeHead(statusCode, responseHeaders(headers));
          return response;
        },
      );
      const outcome = status >= 500 ? 'failure' : 'success';
      pool.release(pick, outcome);
      metrics.attempted(upstream, outcome);
      return swallowed ? { kind: 'retryable-status', status } : { kind: 'answered' };
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code ?? '';
      // A client that left mid-answer says nothing about the instance: our response closed
      // early, without an error of its own, and undici aborted the upstream request. When the
      // instance broke off instead, undici destroyed our response with the instance's error.
      const outcome = CLIENT_GONE.has(code) && !response.errored ? 'abandoned' : 'failure';
      pool.release(pick, outcome);
      metrics.attempted(upstream, outcome);
      return { kind: 'failed', error: error as NodeJS.ErrnoException, sent: !NOT_SENT.has(code) };
    }
  }

  private connectionsTo(upstream: Upstream): Pool {
    let connections = this.connections.get(upstream);
    if (!connections) {
      connections = new Pool(`http://${upstream.hostPort}`, { connect: { timeout: this.options.policy().tryTimeoutMs } });
      this.connections.set(upstream, connections);
    }
    return connections;
  }
}

/** A sink for the body of a 5xx that another instance will be asked to replace. */
function discard(): Writable {
  return new Writable({
    write(_chunk, _encoding, callback) {
      callback();
    },
  });
}

function describeFailure(error: NodeJS.ErrnoException, upstream: Upstream, service: string): ProxyError {
  const code = error.code ?? 'error';
  if (TIMEOUTS.has(code)) return proxyError(504, `instance ${upstream.id} of "${service}" timed out (${code})`);
  if (NOT_SENT.has(code)) return proxyError(503, `could not connect to instance ${upstream.id} of "${service}" at ${upstream.hostPort} (${code})`);
  return proxyError(502, `instance ${upstream.id} of "${service}" failed: ${error.message} (${code})`);
}

function unavailableMessage(service: string, pool: UpstreamChooser, tried: number): string {
  const registered = pool.members.length;
  if (registered === 0) return `no healthy instance of "${service}" is registered`;
  return `no usable instance of "${service}": ${registered} healthy in the registry, ${pool.ejected} ejected by circuit breakers, ${tried} tried`;
}
