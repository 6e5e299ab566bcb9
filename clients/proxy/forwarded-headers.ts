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
 * address, X-Forwarded-Proto kept if a proxy in front set it (else `proto`, the listener's), Via extended, and
 * `x-request-id` set to the request's id (the client's own, when it was acceptable).
 * Host is kept, so upstreams see the name the client asked for.
 */
export function requestHeaders(raw: readonly string[], clientAddress: string | undefined, requestId: string, proto: 'http' | 'https' = 'http'): string[] {
  const named = connectionTokens(raw);
  const headers: string[] = [];
  let forwardedFor: string | undefined;
  let via: string | undefined;
  let hasProto = false;
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!;
    const value = raw[i + 1]!;
    const lower = name.toLowerCase();
    if (HOP_BY_HOP.has(lower) || named?.has(lower) || lower === 'x-request-id') continue;
    if (lower === 'x-forwarded-for') forwardedFor = forwardedFor === undefined ? value : `${forwardedFor}, ${value}`;
    else if (lower === 'via') via = via === undefined ? value : `${via}, ${value}`;
    else {
      if (lower === 'x-forwarded-proto') hasProto = true;
      headers.push(name, value);
    }
  }
  if (clientAddress) forwardedFor = forwardedFor === undefined ? clientAddress : `${forwardedFor}, ${clientAddress}`;
  if (forwardedFor !== undefined) headers.push('x-forwarded-for', forwardedFor);
  if (!hasProto) headers.push('x-forwarded-proto', proto);
  headers.push('via', via === undefined ? VIA : `${via}, ${VIA}`, 'x-request-id', requestId);
  return headers;
}

/**
 * The upstream's response headers made fit for the client, as the flat name/value list
 * `writeHead` takes as it is: hop-by-hop ones dropped, Via extended, and the request's
 * `x-request-id` (when given) in place of any the instance sent. Copying beats deleting from
 * undici's object, which would turn it into a slow dictionary for `writeHead` to walk.
 */
export function responseHeaders(headers: IncomingHttpHeaders, requestId?: string): (string | string[])[] {
  const named = headers.connection === undefined ? undefined : namedByConnection(String(headers.connection));
  const flat: (string | string[])[] = [];
  let via: string | undefined;
  for (const name in headers) {
    const value = headers[name];
    if (value === undefined || HOP_BY_HOP.has(name) || named?.has(name)) continue;
    if (name === 'via') via = String(value);
    else if (name !== 'x-request-id' || requestId === undefined) flat.push(name, value);
  }
  flat.push('via', via ? `${via}, ${VIA}` : VIA);
  if (requestId !== undefined) flat.push('x-request-id', requestId);
  return flat;
}

/** Header names listed in the client's Connection fields; undefined when none. */
function connectionTokens(raw: readonly string[]): Set<string> | undefined {
  let tokens: Set<string> | undefined;
  for (let i = 0; i < raw.length; i += 2) {
    if (raw[i]!.toLowerCase() !== 'connection') continue;
    const named = namedByConnection(raw[i + 1]!);
    if (named) tokens = tokens ? new Set([...tokens, ...named]) : named;
  }
  return tokens;
}

/**
 * Header names a Connection value lists (RFC 9110 §7.6.1), which are hop-by-hop too. The usual
 * values, `keep-alive` and `close`, name nothing more, and cost no allocation.
 */
function namedByConnection(value: string): Set<string> | undefined {
  if (value === 'keep-alive' || value === 'close') return undefined;
  let tokens: Set<string> | undefined;
  for (const token of value.split(',')) {
    const name = token.trim().toLowerCase();
    if (name && name !== 'close' && name !== 'keep-alive') (tokens ??= new Set()).add(name);
  }
  return tokens;
}
