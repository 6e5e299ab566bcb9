import { spawnSync } from 'node:child_process';
import { onCpu } from './cpu.js';
import { runToExit } from './run-to-exit.js';

export interface WrkLoad {
  /** Base URL of the server, where the Lua script builds each request's path; without a script wrk GETs this URL. */
  url: string;
  script?: string;
  scriptArgs?: readonly string[];
  connections: number;
  durationSeconds: number;
  cpu?: number;
  /** wrk's --timeout: a request unanswered this long is a socket timeout (wrk's default: 2 s). */
  timeoutSeconds?: number;
  /**
   * Count failed requests in the result instead of failing the run: for comparisons that must
   * report a contender's errors, not stop at them.
   */
  countFailures?: boolean;
}

export interface WrkResult {
  requests: number;
  requestsPerSecond: number;
  p50Ms: number;
  p99Ms: number;
  /** Only with `countFailures`: non-2xx/3xx answers plus socket errors (connect, read, write, timeout). */
  failures?: number;
}

export class WrkFailure extends Error {}

export function wrkIsInstalled(): boolean {
  return spawnSync('wrk', ['--version']).error === undefined;
}

/**
 * Runs wrk with one thread (its own core) and fixed connections and duration; resolves with the
 * figures it printed. A run with any non-2xx/3xx answer or socket error is a failure, not a
 * figure: a fast 404 or a refused connection would flatter the server (with `countFailures`
 * they are counted in the result instead, for the caller to report).
 */
export async function runWrk(load: WrkLoad): Promise<WrkResult> {
  const wrkArgs = [
    '--threads', '1',
    '--connections', String(load.connections),
    '--duration', `${load.durationSeconds}s`,
    '--latency',
    ...(load.timeoutSeconds === undefined ? [] : ['--timeout', `${load.timeoutSeconds}s`]),
    ...(load.script === undefined ? [load.url] : ['--script', load.script, load.url, '--', ...(load.scriptArgs ?? [])]),
  ];
  const [command, args] = onCpu(load.cpu, 'wrk', wrkArgs);
  // wrk stops itself after --duration; the guard only ends a wedged run.
  const { code, output } = await runToExit(command, args, (load.durationSeconds + (load.timeoutSeconds ?? 2) + 15) * 1000);
  if (code !== 0) throw new WrkFailure(`wrk exited with ${code}:\n${output}`);
  return load.countFailures ? { ...parseWrkFigures(output), failures: countWrkFailures(output) } : parseWrkOutput(output);
}

const SOCKET_ERRORS = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/;
const FAILED_RESPONSES = /Non-2xx or 3xx responses: (\d+)/;

/** Reads wrk 4's text report (run with --latency); any failed request fails the run. */
export function parseWrkOutput(output: string): WrkResult {
  const failures = countWrkFailures(output);
  if (failures > 0) {
    const lines = [SOCKET_ERRORS.exec(output)?.[0], FAILED_RESPONSES.exec(output)?.[0]].filter((line) => line !== undefined);
    throw new WrkFailure(`wrk saw ${failures} failed requests (${lines.join('; ')}):\n${output}`);
  }
  return parseWrkFigures(output);
}

/** Non-2xx/3xx answers plus socket errors, as wrk printed them (it prints neither line when there were none). */
export function countWrkFailures(output: string): number {
  const counts = [...(SOCKET_ERRORS.exec(output)?.slice(1) ?? []), FAILED_RESPONSES.exec(output)?.[1] ?? '0'];
  return counts.reduce((total, count) => total + Number(count), 0);
}

function parseWrkFigures(output: string): WrkResult {
  return {
    requests: Number(match(output, /(\d+) requests in /, 'request count')),
    requestsPerSecond: Number(match(output, /Requests\/sec:\s+([\d.]+)/, 'Requests/sec')),
    p50Ms: latencyMs(output, '50'),
    p99Ms: latencyMs(output, '99'),
  };
}

const MS_PER_UNIT: Record<string, number> = { us: 0.001, ms: 1, s: 1000, m: 60_000 };

function latencyMs(output: string, percentile: string): number {
  const line = new RegExp(`^\\s*${percentile}%\\s+([\\d.]+)(us|ms|s|m)\\s*$`, 'm').exec(output);
  if (!line) throw new WrkFailure(`no ${percentile}% latency in wrk's output (was --latency given?):\n${output}`);
  return Number(line[1]) * MS_PER_UNIT[line[2]!]!;
}

function match(output: string, pattern: RegExp, what: string): string {
  const found = pattern.exec(output);
  if (!found) throw new WrkFailure(`no ${what} in wrk's output:\n${output}`);
  return found[1]!;
}
