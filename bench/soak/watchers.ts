import type { Agent } from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import { sendRequest } from '../support/beacon-http.js';
import { describeFailure, type ErrorTally } from './error-tally.js';

export interface WatchLoad {
  url: string;
  /** With a socket for every watcher: each holds its connection while blocked. */
  agent: Agent;
  watchers: number;
  /** Watcher w watches svc-(w % services). */
  services: number;
  waitSeconds: number;
  deadline: number;
  errors: ErrorTally;
}

export interface WatchCount {
  /** Blocking queries released by a change (the index moved). */
  woken: number;
  /** Blocking queries that waited out `wait` (same index). */
  timedOut: number;
}

/** Beacon adds up to wait/16 of jitter; past this a blocking query is stuck. */
const OVERDUE_MS = 15_000;
/** After an error a watcher pauses, as a client would, instead of spinning. */
const ERROR_PAUSE_MS = 1_000;

/**
 * `watchers` clients each looping on GET /v1/services/svc-N/instances?index=I&wait=…, following
 * X-Beacon-Index as a client does. Requests still blocked at the deadline are abandoned, not
 * counted as errors.
 */
export async function runWatchers(load: WatchLoad, count: WatchCount): Promise<void> {
  const stop = new AbortController();
  const timer = setTimeout(() => stop.abort(), Math.max(0, load.deadline - Date.now()));
  try {
    await Promise.all(Array.from({ length: load.watchers }, (_, w) => watch(load, `svc-${w % load.services}`, stop.signal, count)));
  } finally {
    clearTimeout(timer);
  }
}

async function watch(load: WatchLoad, service: string, stop: AbortSignal, count: WatchCount): Promise<void> {
  const base = `${load.url}/v1/services/${service}/instances`;
  let index: number | undefined;
  while (!stop.aborted) {
    const url = index === undefined ? base : `${base}?index=${index}&wait=${load.waitSeconds}s`;
    const signal = AbortSignal.any([stop, AbortSignal.timeout(load.waitSeconds * 1000 + OVERDUE_MS)]);
    try {
      const answer = await sendRequest(load.agent, 'GET', url, { signal });
      const next = Number(answer.headers['x-beacon-index']);
      const problem =
        answer.status !== 200 ? `answered ${answer.status}: ${answer.text.slice(0, 200)}`
        : !Number.isInteger(next) || next <= 0 ? `X-Beacon-Index is ${String(answer.headers['x-beacon-index'])}`
        : !Array.isArray(JSON.parse(answer.text)) ? 'the body is not a list'
        : undefined;
      if (problem) {
        load.errors.record('blockingQuery', `GET ${url} ${problem}`);
        await sleep(ERROR_PAUSE_MS);
        continue;
      }
      if (index !== undefined) {
        if (next === index) count.timedOut++;
        else count.woken++;
      }
      index = next;
    } catch (error) {
      if (stop.aborted) return;
      load.errors.record('blockingQuery', `GET ${url}: ${describeFailure(error)}`);
      await sleep(ERROR_PAUSE_MS);
    }
  }
}
