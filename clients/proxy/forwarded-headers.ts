import type { IncomingHttpHeaders } from 'node:http';

/**
 * Hop-by-hop headers (RFC 9110 §7.6.1) describe one connection, not the message, so a proxy
 * drops them both ways, along with any header the Connection field names. `expect` goes too:
 * Node's server has already answered 100-continue, and undici refuses the header.
 */
const HOP_BY_HOP = new Set([
  'connection',
  'proxy-connection',
  'keep-alive',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
  'proxy-authenticate',
  'proxy-authorization',
  'expect',
]);

export const VIA = '1.1 beacon';

/**
 * The headers to send upstream, from the client's raw header list (name, value, name, value…,
 * as Node keeps them): hop-by-hop ones dropped, X-Forwarded-For extended with the client's
 * address, X-Forwarded-Proto kept if a proxy in front set it (else `http`), Via extended.
 * Host is kept, so upstreams see the name the client asked for.
 */
export function requestHeaders(raw: readonly string[], clientAddress: string | undefined): string[] {
  const named = connectionTokens(raw);
  const headers: string[] = [];
  let forwardedFor: string | undefined;
  let via: string | undefined;
  let hasProto = false;
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!;
    const value = raw[i + 1]!;
    const lower = name.toLowerCase();
    if (HOP_BY_HOP.has(lower) || named?.has(lower)) continue;
    if (lower === 'x-forwarded-for') forwardedFor = forwardedFor === undefined ? value : `${forwardedFor}, ${value}`;
    else if (lower === 'via') via = via === undefined ? value : `${via}, ${value}`;
    else {
      if (lower === 'x-forwarded-proto') hasProto = true;
      headers.push(name, value);
    }
  }
  if (clientAddress) forwardedFor = forwardedFor === undefined ? clientAddress : `${forwardedFor}, ${clientAddress}`;
  if (forwardedFor !== undefined) headers.push('x-forwarded-for', forwardedFor);
  if (!hasProto) headers.push('x-forwarded-proto', 'http');
  headers.push('via', via === undefined ? VIA : `${via}, ${VIA}`);
  return headers;
}

/** The upstream's response headers made fit for the client: hop-by-hop ones dropped, Via extended. */
export function responseHeaders(headers: IncomingHttpHeaders): IncomingHttpHeaders {
  const connection = headers.connection;
  if (connection) for (const token of String(connection).split(',')) delete headers[token.trim().toLowerCase()];
  for (const name of HOP_BY_HOP) delete headers[name];
  headers.via = headers.via ? `${headers.via}, ${VIA}` : VIA;
  return headers;
}

/** Header names listed in the Connection field, which are hop-by-hop too; undefined when none. */
function connectionTokens(raw: readonly string[]): Set<string> | undefined {
  let tokens: Set<string> | undefined;
  for (let i = 0; i < raw.length; i += 2) {
    if (raw[i]!.toLowerCase() !== 'connection') continue;
    for (const token of raw[i + 1]!.split(',')) {
      const name = token.trim().toLowerCase();
      if (name && name !== 'close' && name !== 'keep-alive') (tokens ??= new Set()).add(name);
    }
  }
  return tokens;
}
