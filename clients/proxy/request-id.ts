import { randomUUID } from 'node:crypto';

export const REQUEST_ID = 'x-request-id';
const MAX_LENGTH = 200;

/**
 * A client's `x-request-id`, kept when it is printable ASCII (no spaces, no controls) of at
 * most 200 characters: it ends up in logs and in other services' headers, where anything else
 * could forge a log line or break a parser.
 */
export function acceptableRequestId(value: string | string[] | undefined): value is string {
  if (typeof value !== 'string' || value.length === 0 || value.length > MAX_LENGTH) return false;
  for (let i = 0; i < value.length; i++) {
    const code = value.charCodeAt(i);
    if (code < 0x21 || code > 0x7e) return false;
  }
  return true;
}

/**
 * A new request id. A UUID, as Envoy generates: Node hands them out of a pre-filled entropy
 * buffer, so this costs no system call per request.
 */
export function newRequestId(): string {
  return randomUUID();
}
