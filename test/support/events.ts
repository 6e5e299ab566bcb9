import type { EventEmitter } from 'node:events';
import { once } from 'node:events';

/**
 * The emitter's next `event`, or a rejection after `timeoutMs`. Safe to create before the awaits
 * that lead up to it (starting a server, say): until it is awaited, a rejection does not count
 * as unhandled, which would end the test before its later cleanups are registered. The deadline
 * is generous: starting a process on a loaded 2-core machine can take seconds.
 */
export function nextEvent(emitter: EventEmitter, event: string, timeoutMs = 20_000): Promise<unknown[]> {
  const next = once(emitter, event, { signal: AbortSignal.timeout(timeoutMs) });
  next.catch(() => undefined);
  return next;
}
