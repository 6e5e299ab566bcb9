import { monitorEventLoopDelay } from 'node:perf_hooks';

/** The load generator's own event-loop delay, to tell its stalls from the server's. */
export interface OwnEventLoop {
  p99Ms: number;
  maxMs: number;
}

/** Starts measuring; the returned function stops and reads the whole run's figures. */
export function watchOwnEventLoop(): () => OwnEventLoop {
  const histogram = monitorEventLoopDelay({ resolution: 20 });
  histogram.enable();
  return () => {
    histogram.disable();
    return { p99Ms: histogram.percentile(99) / 1e6, maxMs: histogram.max / 1e6 };
  };
}
