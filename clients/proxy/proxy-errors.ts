import { type ServerResponse, STATUS_CODES } from 'node:http';
import { VIA } from './forwarded-headers.js';

/** An answer the proxy makes itself, in the registry's error shape: `{statusCode, error, message}`. */
export interface ProxyError {
  statusCode: number;
  error: string;
  message: string;
}

export function proxyError(statusCode: number, message: string): ProxyError {
  return { statusCode, error: STATUS_CODES[statusCode] ?? 'Error', message };
}

export function sendError(response: ServerResponse, error: ProxyError): void {
  const body = JSON.stringify(error);
  response.writeHead(error.statusCode, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(body),
    via: VIA,
  });
  response.end(body);
}
