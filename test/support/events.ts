import type { EventEmitter } from 'node:events';
import { once } from 'node:events';
import { setTimeout as pause } from 'node:timers/promises';

/**
 * How tests wait: on the thing they wait for (an event, a gauge, a log line), never for a
 * stretch of time. Every deadline here only ends a hang; it measures nothing. The defaults are
 * generous because a loaded 2-core machine can take seconds to start a process.
 */

/**
 * The emitter's next `event`, or a rejection after `timeoutMs`. Safe to create before the awaits
 * that lead up to it (starting a server, say): until it is awaited, a rejection does not count
 * as unhandled, which would end the test before its later cleanups are registered.
 */
export function nextEvent(emitter: EventEmitter, event: string, timeoutMs = 20_000): Promise<unknown[]> {
  const next = once(emitter, event, { signal: AbortSignal.timeout(timeoutMs) });
  next.catch(() => undefined);
  return next;
}

export interface WaitOptions {
  /** What is awaited, for the failure message (a function for text that changes, like output so far). */
  what?: string | (() => string);
  /** The wait fails after this long. Default 10 s. */
  timeoutMs?: number;
  /** Pause between two checks. Default 10 ms: short enough not to matter, long enough not to spin a core. */
  intervalMs?: number;
}

/**
 * Checks `condition` until it gives something other than undefined, null or false, and resolves
 * with that: for a state with no event of its own (a gauge on /metrics, a count, a page's text).
 * Rejects after `timeoutMs`, naming what it waited for; an error thrown by `condition` ends the
 * wait at once.
 */
export async function waitFor<T>(condition: () => T | Promise<T>, options: WaitOptions = {}): Promise<Exclude<T, undefined | null | false>> {
  const { timeoutMs = 10_000, intervalMs = 10 } = options;
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    const value = await condition();
    if (value !== undefined && value !== null && value !== false) return value as Exclude<T, undefined | null | false>;
    if (performance.now() >= deadline) {
      const what = typeof options.what === 'function' ? options.what() : (options.what ?? String(condition));
      throw new Error(`waited ${timeoutMs / 1000} s for ${what}`);
    }
    await pause(intervalMs);
  }
}

/**
 * `promise`, or a rejection naming `what` if it has not settled within `timeoutMs`: for a
 * promise that must settle because of what the test did, not because some longer wait ran out.
 */
export async function within<T>(promise: Promise<T>, timeoutMs: number, what: string): Promise<T> {
  const deadline = new AbortController();
  const expired = pause(timeoutMs, undefined, { signal: deadline.signal }).then(() => {
    throw new Error(`${what}: not within ${timeoutMs / 1000} s`);
  });
  expired.catch(() => undefined);
  try {
    return await Promise.race([promise, expired]);
  } finally {
    deadline.abort();
  }
}
