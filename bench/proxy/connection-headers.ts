import type { IncomingHttpHeaders } from 'node:http';

/**
 * Headers that describe one connection, not the message: undici refuses them in a request, and
 * passing an upstream's `connection: close` on would close the client's connection. Shared by
 * the minimal forwarders, which drop them and nothing else.
 */
const CONNECTION_HEADERS = ['connection', 'keep-alive', 'transfer-encoding', 'upgrade', 'expect'];

export function withoutConnectionHeaders(headers: IncomingHttpHeaders): IncomingHttpHeaders {
  for (const name of CONNECTION_HEADERS) if (name in headers) delete headers[name];
  return headers;
}
