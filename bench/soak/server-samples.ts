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
  /** The longest single event-loop delay in the same window: a stall the p99 would hide. */
  eventLoopMaxSeconds?: number;
  expirations?: number;
  expirationsWithheld?: number;
}

export const METRICS = {
  eventLoopP99: 'beacon_nodejs_eventloop_lag_p99_seconds',
  eventLoopMax: 'beacon_nodejs_eventloop_lag_max_seconds',
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

/** Samples one interval after the start, then every interval until the deadline, and once more at it. */
export async function sampleServer(sampling: Sampling, samples: ServerSample[]): Promise<void> {
  for (let next = sampling.startedAt + sampling.intervalMs; next <= sampling.deadline; next += sampling.intervalMs) {
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
    sample.eventLoopMaxSeconds = metrics[METRICS.eventLoopMax];
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

/** RcvbufErrors of /proc/net/snmp: UDP datagrams the kernel dropped for a full receive buffer, machine-wide. */
export function udpReceiveBufferDrops(): number | undefined {
  let snmp: string;
  try {
    snmp = readFileSync('/proc/net/snmp', 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
  const [names, values] = snmp.split('\n').filter((line) => line.startsWith('Udp: ')).map((line) => line.split(' '));
  const column = names?.indexOf('RcvbufErrors') ?? -1;
  return column < 0 || !values ? undefined : Number(values[column]);
}
