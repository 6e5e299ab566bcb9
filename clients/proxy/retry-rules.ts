import type { RetryOn } from '../../contract/traffic-policy.js';

/**
 * What went wrong with one try, as `retries.on` names it (SPEC: Traffic policy, after Envoy's
 * retry_on). A try's failure matches the classes listed for it; it is retried only if one of
 * them is in the policy's `on`.
 */
export type TryFailure = 'connect-failure' | 'reset' | 'gateway-status' | 'other-5xx' | 'conflict';

/**
 * As in Envoy: `5xx` covers gateway errors and an instance that did not answer at all
 * (connect failure, reset, timeout); `gateway-error` covers 502/503/504, and also what the
 * proxy would itself answer 502/503/504 for (a connect failure, a reset, a timeout).
 */
const MATCHED_BY: Record<TryFailure, readonly RetryOn[]> = {
  'connect-failure': ['connect-failure', 'gateway-error', '5xx'],
  reset: ['reset', 'gateway-error', '5xx'],
  'gateway-status': ['gateway-error', '5xx'],
  'other-5xx': ['5xx'],
  conflict: ['retriable-4xx'],
};

export function retriable(failure: TryFailure, on: ReadonlySet<RetryOn>): boolean {
  for (const retryOn of MATCHED_BY[failure]) if (on.has(retryOn)) return true;
  return false;
}

/** The class of a status an instance answered with; undefined for a status that is never retried. */
export function statusFailure(status: number): TryFailure | undefined {
  if (status === 502 || status === 503 || status === 504) return 'gateway-status';
  if (status >= 500) return 'other-5xx';
  if (status === 409) return 'conflict';
  return undefined;
}

/** Whether the status may hold a Retry-After the proxy honours (SPEC: on 429 and 503). */
export function honoursRetryAfter(status: number): boolean {
  return status === 429 || status === 503;
}

/** The longest Retry-After honoured: an instance cannot take itself out for longer. */
const MAX_RETRY_AFTER_MS = 300_000;

/**
 * Milliseconds a Retry-After value asks to wait (RFC 9110 §10.2.3: delay-seconds or an
 * HTTP-date), capped; undefined when absent or unreadable.
 */
export function retryAfterMs(value: string | string[] | undefined, now: number): number | undefined {
  if (value === undefined) return undefined;
  const text = Array.isArray(value) ? value[0]! : value;
  let ms: number;
  if (/^\d+$/.test(text)) ms = Number(text) * 1000;
  else {
    const date = Date.parse(text);
    if (Number.isNaN(date)) return undefined;
    ms = date - now;
  }
  return ms > 0 ? Math.min(ms, MAX_RETRY_AFTER_MS) : undefined;
}

/**
 * The pause before retry number `retry` (1 for the first): "full jitter" (AWS, "Exponential
 * Backoff and Jitter"), anywhere in [0, min(max, base·2^(retry-1))], as Envoy's retry back-off.
 * Full jitter spreads a burst of retries the most, for the least total wait.
 */
export function retryDelayMs(retry: number, backoff: { baseMs: number; maxMs: number }, random: () => number = Math.random): number {
  const ceiling = Math.min(backoff.maxMs, backoff.baseMs * 2 ** (retry - 1));
  return ceiling * random();
}
