import type { IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
import type { Duplex } from 'node:stream';
import type { Logger } from 'pino';
import type { Upstream } from '../upstream/upstream-pool.js';
import type { UpstreamChooser } from '../upstream/traffic-split.js';
import { type AccessRecord, logAccess } from './access-log.js';
import { requestHeaders } from './forwarded-headers.js';
import type { ProxyMetrics } from './proxy-metrics.js';
import { acceptableRequestId, newRequestId, REQUEST_ID } from './request-id.js';
import { connectPicked, tieSockets, type UpstreamConnector } from './upstream-socket.js';

export interface UpgradeOptions {
  service: string;
  pool: UpstreamChooser;
  metrics: ProxyMetrics;
  /** Further connection attempts after a connect failure, each to another instance. */
  retries: number;
  connectTimeoutMs: number;
  /** Past this many connections and requests at an instance, the upgrade is refused with `503` overflow (HTTP's limit). */
  maxActive: number;
  accessLog?: Logger;
  /** The sockets of upgraded connections, both sides, so a shutdown can cut them (the HTTP server no longer tracks them). */
  open: Set<Duplex>;
  /** TLS to instances when they take it (HTTP mode with `--upstream-tls-ca`). */
  connector?: UpstreamConnector;
  /** `https` behind a TLS listener: the instance's X-Forwarded-Proto when no proxy in front set one. */
  proto?: 'http' | 'https';
}

/**
 * WebSocket and any other `Upgrade` request (RFC 9110 §7.8), carried through in HTTP mode: the
 * request head goes to a picked instance with its Connection and Upgrade headers (hop-by-hop,
 * but they are what asks the instance to switch), then bytes are piped both ways, the
 * instance's `101` included, until either side closes. Balancing and breakers work per
 * connection, as in TCP mode; only a failure to connect is retried.
 */
export async function forwardUpgrade(options: UpgradeOptions, request: IncomingMessage, client: Duplex, head: Buffer): Promise<void> {
  const { pool, metrics, service } = options;
  const started = performance.now();
  client.on('error', () => client.destroy());
  const given = request.headers[REQUEST_ID];
  const requestId = acceptableRequestId(given) ? given : newRequestId();
  const logged: AccessRecord = { method: request.method, path: request.url, status: 0, instance: undefined, tries: 0, started, requestId };
  const tried: Upstream[] = [];
  let refusal: 'no-instance' | 'connect-failure' | 'overflow' = 'no-instance';
  for (let attempt = 0; attempt <= options.retries && !client.destroyed; attempt++) {
    const pick = pool.choose(tried);
    if (!pick) break;
    if (pick.upstream.active > options.maxActive) {
      pool.release(pick, 'abandoned');
      metrics.overflowed();
      refusal = 'overflow';
      break;
    }
    tried.push(pick.upstream);
    logged.tries += 1;
    logged.instance = pick.upstream.id;
    if (attempt > 0) metrics.retried('connect-failure');
    refusal = 'connect-failure';
    const upstream = await connectPicked(pool, metrics, pick, options.connectTimeoutMs, false, options.connector);
    if (!upstream) continue;
    metrics.answered('upgraded');
    upstream.write(requestHead(request, requestId, options.proto));
    if (head.length > 0) upstream.write(head);
    tieSockets(options.open, client, upstream, () => {
      pool.finish(pick);
      logAccess(options.accessLog, logged);
    });
    client.pipe(upstream);
    passAnswerHead(upstream, client, requestId, (status) => {
      logged.status = status;
    });
    return;
  }
  if (refusal === 'no-instance') metrics.unavailable();
  const message = refusal === 'overflow' ? `instance ${logged.instance ?? ''} of "${service}" has too many connections and requests already` : `no instance of "${service}" took the upgrade (${tried.length} tried)`;
  const body = JSON.stringify({ statusCode: 503, error: 'Service Unavailable', message });
  client.end(
    `HTTP/1.1 503 Service Unavailable\r\ncontent-type: application/json; charset=utf-8\r\ncontent-length: ${Buffer.byteLength(body)}\r\n` +
      `x-beacon-proxy: ${refusal}\r\n${REQUEST_ID}: ${requestId}\r\nconnection: close\r\n\r\n${body}`,
  );
  metrics.answered(503);
  logged.status = 503;
  logAccess(options.accessLog, logged);
}

/** The largest answer head read from an instance; an instance sending more is cut off. */
const MAX_HEAD_BYTES = 64 * 1024;

/**
 * Passes the instance's answer head (its `101`, or a refusal) to the client with the request's
 * `x-request-id` in place of any the instance sent, as HTTP mode does; then pipes the rest.
 */
function passAnswerHead(upstream: Socket, client: Duplex, requestId: string, onStatus: (status: number) => void): void {
  let received: Buffer = Buffer.alloc(0);
  const onData = (chunk: Buffer) => {
    received = received.length === 0 ? chunk : Buffer.concat([received, chunk]);
    const end = received.indexOf('\r\n\r\n');
    if (end < 0) {
      if (received.length > MAX_HEAD_BYTES) upstream.destroy();
      return;
    }
    upstream.off('data', onData);
    const lines = received.subarray(0, end).toString('latin1').split('\r\n');
    onStatus(Number(lines[0]!.split(' ')[1]) || 0);
    const kept = lines.filter((line, i) => i === 0 || !line.toLowerCase().startsWith(`${REQUEST_ID}:`));
    client.write(`${kept.join('\r\n')}\r\n${REQUEST_ID}: ${requestId}\r\n\r\n`, 'latin1');
    if (received.length > end + 4) client.write(received.subarray(end + 4));
    upstream.pipe(client);
  };
  upstream.on('data', onData);
}


/** The request line and headers as the instance gets them: forwarded headers, plus the upgrade's own. */
function requestHead(request: IncomingMessage, requestId: string, proto: 'http' | 'https' = 'http'): string {
  const headers = requestHeaders(request.rawHeaders, request.socket.remoteAddress, requestId, proto);
  headers.push('connection', 'upgrade', 'upgrade', String(request.headers.upgrade));
  let head = `${request.method} ${request.url} HTTP/1.1\r\n`;
  for (let i = 0; i < headers.length; i += 2) head += `${headers[i]}: ${headers[i + 1]}\r\n`;
  return `${head}\r\n`;
}
