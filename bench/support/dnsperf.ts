import { existsSync } from 'node:fs';
import { onCpu } from './cpu.js';
import { runToExit } from './run-to-exit.js';
import { percentileOfSorted } from './stats.js';

/** Debian's dnsperf (package dnsperf, 2.x), the load generator of the DNS bench. */
export const DNSPERF = '/usr/bin/dnsperf';

export interface DnsperfLoad {
  port: number;
  /** One `<name> <type>` a line; dnsperf sends them in order, over and over. */
  queryFile: string;
  durationSeconds: number;
  /** Queries in flight at once (-q). */
  outstanding: number;
  /** UDP sockets dnsperf spreads them over (-c). */
  clients: number;
  /** A fixed send rate (-Q) instead of as fast as answers come back. */
  queriesPerSecond?: number;
  /**
   * Per-query latencies, for percentiles: dnsperf 2.10 prints only the mean and standard
   * deviation, but with -v it prints every answer's latency, which is parsed here.
   */
  latencies?: boolean;
  cpu?: number;
}

export interface DnsperfResult {
  sent: number;
  completed: number;
  lost: number;
  queriesPerSecond: number;
  averageLatencyMs: number;
  /** Mean answer size, to show two servers answered alike. */
  responseBytes: number;
  /** With `latencies`: nearest-rank percentiles of every completed query. */
  p50Ms?: number;
  p90Ms?: number;
  p99Ms?: number;
}

export class DnsperfFailure extends Error {}

/** Lost queries above this share fail the run: the server or the socket buffers were not keeping up. */
const MAX_LOST_SHARE = 0.01;
/** dnsperf's -t: how long a query may take before it counts as lost. */
const QUERY_TIMEOUT_SECONDS = 2;

export function dnsperfIsInstalled(): boolean {
  return existsSync(DNSPERF);
}

/**
 * Runs dnsperf against 127.0.0.1 for a fixed time. Every answer must be NOERROR: a fast
 * REFUSED or SERVFAIL would flatter the server, so any other rcode fails the run.
 */
export async function runDnsperf(load: DnsperfLoad): Promise<DnsperfResult> {
  const dnsperfArgs = [
    '-s', '127.0.0.1',
    '-p', String(load.port),
    '-d', load.queryFile,
    '-l', String(load.durationSeconds),
    '-q', String(load.outstanding),
    '-c', String(load.clients),
    '-t', String(QUERY_TIMEOUT_SECONDS),
    ...(load.queriesPerSecond === undefined ? [] : ['-Q', String(Math.round(load.queriesPerSecond))]),
    ...(load.latencies ? ['-v'] : []),
  ];
  const [command, args] = onCpu(load.cpu, DNSPERF, dnsperfArgs);
  // dnsperf stops itself after -l and waits -t for the last answers; the guard ends a wedged run.
  const { code, output } = await runToExit(command, args, (load.durationSeconds + QUERY_TIMEOUT_SECONDS + 15) * 1000);
  if (code !== 0) throw new DnsperfFailure(`dnsperf exited with ${code}:\n${tail(output)}`);
  return parseDnsperfOutput(output, load.latencies ?? false);
}

/** Reads dnsperf 2.x's statistics block (and with -v its `> RCODE name type seconds` lines). */
export function parseDnsperfOutput(output: string, latencies: boolean): DnsperfResult {
  const codes = match(output, /Response codes:\s+(.*)/, 'response codes');
  const others = codes.split(', ').filter((code) => !code.startsWith('NOERROR '));
  if (others.length > 0) throw new DnsperfFailure(`dnsperf got answers other than NOERROR (${codes}):\n${tail(output)}`);
  const sent = Number(match(output, /Queries sent:\s+(\d+)/, 'queries sent'));
  const lost = Number(match(output, /Queries lost:\s+(\d+)/, 'queries lost'));
  if (sent === 0 || lost > sent * MAX_LOST_SHARE) throw new DnsperfFailure(`dnsperf lost ${lost} of ${sent} queries:\n${tail(output)}`);
  const result: DnsperfResult = {
    sent,
    completed: Number(match(output, /Queries completed:\s+(\d+)/, 'queries completed')),
    lost,
    queriesPerSecond: Number(match(output, /Queries per second:\s+([\d.]+)/, 'queries per second')),
    averageLatencyMs: Number(match(output, /Average Latency \(s\):\s+([\d.]+)/, 'average latency')) * 1000,
    responseBytes: Number(match(output, /Average packet size:.*response (\d+)/, 'packet sizes')),
  };
  if (!latencies) return result;
  const perQuery = Float64Array.from(output.matchAll(/^> NOERROR \S+ \S+ ([\d.]+)$/gm), (line) => Number(line[1]) * 1000);
  if (perQuery.length < result.completed * 0.99) {
    throw new DnsperfFailure(`dnsperf -v printed ${perQuery.length} latencies for ${result.completed} answers:\n${tail(output)}`);
  }
  perQuery.sort();
  return {
    ...result,
    p50Ms: percentileOfSorted(perQuery, 50),
    p90Ms: percentileOfSorted(perQuery, 90),
    p99Ms: percentileOfSorted(perQuery, 99),
  };
}

function match(output: string, pattern: RegExp, what: string): string {
  const found = pattern.exec(output);
  if (!found) throw new DnsperfFailure(`no ${what} in dnsperf's output:\n${tail(output)}`);
  return found[1]!;
}

/** With -v the output holds a line per query: only its end says what went wrong. */
function tail(output: string): string {
  return output.length > 4000 ? `…${output.slice(-4000)}` : output;
}
