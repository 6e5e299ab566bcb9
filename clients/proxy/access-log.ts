import { performance } from 'node:perf_hooks';
import type { Logger } from 'pino';

/** What the access log says of one request (HTTP) or one upgraded connection. */
export interface AccessRecord {
  method: string | undefined;
  path: string | undefined;
  /** 0 when the connection was cut before an answer. */
  status: number;
  /** The instance that answered last, or was tried last. */
  instance: string | undefined;
  tries: number;
  /** `performance.now()` when the request arrived. */
  started: number;
  requestId: string;
}

/** One JSON line (pino) per request, when `--access-log` is on. */
export function logAccess(accessLog: Logger | undefined, record: AccessRecord): void {
  if (!accessLog) return;
  const { method, path, status, instance, tries, started, requestId } = record;
  const durationMs = Math.round((performance.now() - started) * 1000) / 1000;
  accessLog.info({ method, path, status, instance: instance || undefined, tries, durationMs, requestId }, 'request');
}
