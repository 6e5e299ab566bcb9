import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import type { Upstream } from '../upstream/upstream-pool.js';
import type { UpstreamChooser } from '../upstream/traffic-split.js';
import { requestHeaders, setRequestId } from './forwarded-headers.js';
import type { ProxyMetrics } from './proxy-metrics.js';
import { acceptableRequestId, newRequestId, REQUEST_ID } from './request-id.js';
import { connectPicked } from './upstream-socket.js';

export interface UpgradeOptions {
  service: string;
  pool: UpstreamChooser;
  metrics: ProxyMetrics;
  /** Further connection attempts after a connect failure, each to another instance. */
  retries: number;
  connectTimeoutMs: number;
  /** The sockets of upgraded connections, both sides, so a shutdown can cut them (the HTTP server no longer tracks them). */
  open: Set<Duplex>;
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
  client.on('error', () => client.destroy());
  const given = request.headers[REQUEST_ID];
  const requestId = acceptableRequestId(given) ? given : newRequestId();
  const tried: Upstream[] = [];
  for (let attempt = 0; attempt <= options.retries && !client.destroyed; attempt++) {
    const pick = pool.choose(tried);
    if (!pick) break;
    tried.push(pick.upstream);
    if (attempt > 0) metrics.retried('connect-failure');
    const upstream = await connectPicked(pool, metrics, pick, options.connectTimeoutMs, false);
    if (!upstream) continue;
    metrics.answered('upgraded');
    upstream.write(requestHead(request, requestId));
    if (head.length > 0) upstream.write(head);
    options.open.add(client).add(upstream);
    let done = false;
    const end = () => {
      if (done) return;
      done = true;
      options.open.delete(client);
      options.open.delete(upstream);
      client.destroy();
      upstream.destroy();
      pool.finish(pick);
    };
    for (const socket of [client, upstream]) socket.on('error', end).on('close', end);
    client.pipe(upstream);
    upstream.pipe(client);
    return;
  }
  if (tried.length === 0) metrics.unavailable();
  const reason = tried.length === 0 ? 'no-instance' : 'connect-failure';
  const body = JSON.stringify({ statusCode: 503, error: 'Service Unavailable', message: `no instance of "${service}" took the upgrade (${tried.length} tried)` });
  client.end(
    `HTTP/1.1 503 Service Unavailable\r\ncontent-type: application/json; charset=utf-8\r\ncontent-length: ${Buffer.byteLength(body)}\r\n` +
      `x-beacon-proxy: ${reason}\r\n${REQUEST_ID}: ${requestId}\r\nconnection: close\r\n\r\n${body}`,
  );
  metrics.answered(503);
}

/** The request line and headers as the instance gets them: forwarded headers, plus the upgrade's own. */
function requestHead(request: IncomingMessage, requestId: string): string {
  const headers = requestHeaders(request.rawHeaders, request.socket.remoteAddress);
  setRequestId(headers, requestId);
  headers.push('connection', 'upgrade', 'upgrade', String(request.headers.upgrade));
  let head = `${request.method} ${request.url} HTTP/1.1\r\n`;
  for (let i = 0; i < headers.length; i += 2) head += `${headers[i]}: ${headers[i + 1]}\r\n`;
  return `${head}\r\n`;
}
