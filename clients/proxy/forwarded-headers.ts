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

/** An instance's answer head, read once from undici's raw header list. */
export interface AnswerHead {
  /**
   * The headers for the client, as the flat name/value list `writeHead` takes as it is:
   * hop-by-hop ones dropped, Via extended, and the request's `x-request-id` in place of any the
   * instance sent. Names keep the instance's spelling and repeated fields stay apart.
   */
  headers: string[];
  contentLength: string | undefined;
  retryAfter: string | undefined;
}

/**
 * Reads the answer head undici hands over raw (name, value, name, value… as Buffers). Working
 * from the raw list spares the header object undici would parse for every answer, and the
 * latin1 round trip passes every byte of a value through unchanged.
 */
export function answerHead(raw: readonly Buffer[], requestId: string): AnswerHead {
  let headers: string[] = [];
  let via: string | undefined;
  let named: Set<string> | undefined;
  let contentLength: string | undefined;
  let retryAfter: string | undefined;
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!.toString('latin1');
    const value = raw[i + 1]!.toString('latin1');
    const lower = name.toLowerCase();
    if (HOP_BY_HOP.has(lower)) {
      if (lower === 'connection') named = withNamed(named, value);
      continue;
    }
    if (lower === 'via') via = via === undefined ? value : `${via}, ${value}`;
    else if (lower !== 'x-request-id') {
      if (lower === 'content-length') contentLength = value;
      else if (lower === 'retry-after') retryAfter ??= value;
      headers.push(name, value);
    }
  }
  if (named) headers = withoutNamed(headers, named);
  headers.push('via', via === undefined ? VIA : `${via}, ${VIA}`, 'x-request-id', requestId);
  return { headers, contentLength, retryAfter };
}

function withNamed(named: Set<string> | undefined, connection: string): Set<string> | undefined {
  const more = namedByConnection(connection);
  if (!more) return named;
  return named ? new Set([...named, ...more]) : more;
}

/** A flat header list without the fields a Connection header named (rare: usually it names none). */
function withoutNamed(headers: readonly string[], named: ReadonlySet<string>): string[] {
  const kept: string[] = [];
  for (let i = 0; i < headers.length; i += 2) if (!named.has(headers[i]!.toLowerCase())) kept.push(headers[i]!, headers[i + 1]!);
  return kept;
}

/** Header names listed in the client's Connection fields; undefined when none. */
function connectionTokens(raw: readonly string[]): Set<string> | undefined {
  let tokens: Set<string> | undefined;
  for (let i = 0; i < raw.length; i += 2) {
    if (raw[i]!.toLowerCase() !== 'connection') continue;
    tokens = withNamed(tokens, raw[i + 1]!);
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
