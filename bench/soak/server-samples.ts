import { readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { readMetrics } from '../support/beacon-http.js';
import { describeFailure, type ErrorTally } from './error-tally.js';

/** One look at the server under test. */
export interface ServerSample {
  /** Since the load started. */
  elapsedMs: number;
  rssBytes: number;
  /**
   * prom-client's event-loop delay p99; its histogram is reset at every scrape, so each sample
   * covers the time since the previous one. Undefined when the scrape failed.
   */
  eventLoopP99Seconds?: number;
  expirations?: number;
  expirationsWithheld?: number;
}

export const METRICS = {
  eventLoopP99: 'beacon_nodejs_eventloop_lag_p99_seconds',
  expirations: 'beacon_expirations_total',
  expirationsWithheld: 'beacon_expirations_withheld',
} as const;

export interface Sampling {
  url: string;
  pid: number;
  startedAt: number;
  intervalMs: number;
  deadline: number;
  errors: ErrorTally;
}

/** Samples every interval until the deadline, and once more at it. */
export async function sampleServer(sampling: Sampling, samples: ServerSample[]): Promise<void> {
  for (let next = sampling.startedAt; next <= sampling.deadline; next += sampling.intervalMs) {
    const wait = next - Date.now();
    if (wait > 0) await sleep(wait);
    samples.push(await sampleOnce(sampling));
  }
}

export async function sampleOnce(sampling: Sampling): Promise<ServerSample> {
  const sample: ServerSample = { elapsedMs: Date.now() - sampling.startedAt, rssBytes: rssBytes(sampling.pid) };
  try {
    const metrics = await readMetrics(sampling.url, Object.values(METRICS));
    sample.eventLoopP99Seconds = metrics[METRICS.eventLoopP99];
    sample.expirations = metrics[METRICS.expirations];
    sample.expirationsWithheld = metrics[METRICS.expirationsWithheld];
  } catch (error) {
    sampling.errors.record('httpSocket', `scraping /metrics: ${describeFailure(error)}`);
  }
  return sample;
}

/** VmRSS of /proc/<pid>/status (proc(5)), in bytes. */
export function rssBytes(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const line = /^VmRSS:\s+(\d+) kB$/m.exec(status);
  if (!line) throw new Error(`no VmRSS in /proc/${pid}/status`);
  return Number(line[1]) * 1024;
}
