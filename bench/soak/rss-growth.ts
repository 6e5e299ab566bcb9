import { median } from '../support/stats.js';
import type { ServerSample } from './server-samples.js';

export interface RssGrowth {
  /** Median RSS of the first window after the warm-up. */
  baselineBytes: number;
  /** Median RSS of the last window of the run. */
  finalBytes: number;
  windowMs: number;
  /** (final − baseline) / baseline. */
  growth: number;
}

const MINUTE_MS = 60_000;
/** A short run compares its first and last fifth after the warm-up instead of whole minutes. */
const SHORT_RUN_SHARE = 0.2;

/**
 * RSS growth after the warm-up: the median of the last minute's samples against the median of
 * the first post-warm-up minute's (medians, so one sample taken mid-GC does not decide it).
 */
export function rssGrowth(samples: readonly ServerSample[], warmupMs: number, durationMs: number): RssGrowth {
  const windowMs = Math.min(MINUTE_MS, (durationMs - warmupMs) * SHORT_RUN_SHARE);
  const rss = (from: number, to: number) => samples.filter((s) => s.elapsedMs >= from && s.elapsedMs <= to).map((s) => s.rssBytes);
  const first = rss(warmupMs, warmupMs + windowMs);
  const last = rss(durationMs - windowMs, Infinity);
  if (first.length === 0 || last.length === 0) throw new Error(`too few RSS samples after the warm-up (${samples.length} in all)`);
  const baselineBytes = median(first);
  const finalBytes = median(last);
  return { baselineBytes, finalBytes, windowMs, growth: (finalBytes - baselineBytes) / baselineBytes };
}
