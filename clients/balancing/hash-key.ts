import type { IncomingHttpHeaders } from 'node:http';

/** What ring-hash hashes in HTTP mode: a request header (lower-case name) or a cookie. */
export type HashOn = { header: string } | { cookie: string };

/**
 * The request's ring-hash key: the header's value or the cookie's, or undefined when the
 * request has none (then the pick is weighted random, as Envoy does without a hash). An empty
 * value counts as none, so requests that all lack an id do not all land on one instance.
 */
export function hashKeyOf(headers: IncomingHttpHeaders, hashOn: HashOn | undefined): string | undefined {
  if (hashOn === undefined) return undefined;
  if ('header' in hashOn) {
    const value = headers[hashOn.header];
    // node joins repeated headers with ", " (set-cookie aside, which a request does not carry).
    const text = Array.isArray(value) ? value.join(', ') : value;
    return text ? text : undefined;
  }
  return cookieValue(headers.cookie, hashOn.cookie);
}

/**
 * A cookie's value in a Cookie header (RFC 6265 §4.2.1: `name=value` pairs joined by "; ";
 * node joins repeated Cookie headers the same way). The first pair with the name wins, as
 * browsers send the most specific path first (§5.4). Scans without splitting the header.
 */
export function cookieValue(header: string | undefined, name: string): string | undefined {
  if (!header) return undefined;
  let start = 0;
  while (start < header.length) {
    let end = header.indexOf(';', start);
    if (end < 0) end = header.length;
    while (header.charCodeAt(start) === 32 || header.charCodeAt(start) === 9) start += 1;
    if (header.startsWith(name, start) && header.charCodeAt(start + name.length) === 61 /* = */) {
      const value = header.slice(start + name.length + 1, end).trim();
      return value === '' ? undefined : value;
    }
    start = end + 1;
  }
  return undefined;
}
