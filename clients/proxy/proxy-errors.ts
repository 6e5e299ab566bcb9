import { type ServerResponse, STATUS_CODES } from 'node:http';
import { VIA } from './forwarded-headers.js';
import { REQUEST_ID } from './request-id.js';

/**
 * Why the proxy answered a request itself, sent as `x-beacon-proxy` (SPEC: Traffic policy):
 * no instance to send it to, an instance's limits reached, the retry budget spent after a
 * failed try, the request's deadline passed, or the last try failed to connect or broke off.
 */
export type ProxyAnswerReason = 'no-instance' | 'overflow' | 'retry-budget' | 'timeout' | 'connect-failure' | 'upstream-error';

/** An answer the proxy makes itself, in the registry's error shape: `{statusCode, error, message}`. */
export interface ProxyError {
  statusCode: number;
  error: string;
  message: string;
  /** Sent as `x-beacon-proxy`, not in the body. */
  reason?: ProxyAnswerReason;
}

export function proxyError(statusCode: number, message: string, reason?: ProxyAnswerReason): ProxyError {
  return reason === undefined ? { statusCode, error: STATUS_CODES[statusCode] ?? 'Error', message } : { statusCode, error: STATUS_CODES[statusCode] ?? 'Error', message, reason };
}

export function sendError(response: ServerResponse, error: ProxyError, requestId?: string): void {
  const body = JSON.stringify({ statusCode: error.statusCode, error: error.error, message: error.message });
  const headers: Record<string, string | number> = {
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(body),
    via: VIA,
  };
  if (error.reason !== undefined) headers['x-beacon-proxy'] = error.reason;
  if (requestId !== undefined) headers[REQUEST_ID] = requestId;
  response.writeHead(error.statusCode, headers);
  response.end(body);
}
