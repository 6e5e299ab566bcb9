import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { ManualClock } from '../contract/clock.js';
import { InstanceRegistration } from '../contract/instance.js';
import { Registry } from '../server/registry/registry.js';
import { SqliteStore } from '../server/store/sqlite/sqlite-store.js';
import { type Fleet, instanceName, REGISTRATION } from './support/fleet.js';
import { max, median, sum } from './support/stats.js';

export interface LivenessFlushSettings {
  fleet: Fleet;
  /** Rows per flushLiveness call, as housekeeping uses it. */
  chunkRows: number;
  repetitions: number;
  /** The database file goes here: a real file, as WAL commits and checkpoints behave on disk. */
  workDir: string;
}

/** Milliseconds the event loop is held by each synchronous flushLiveness call. */
export interface LivenessFlushResult {
  instances: number;
  chunkRows: number;
  repetitions: number;
  chunksPerFlush: number;
  chunkMedianMs: number;
  chunkWorstMs: number;
  /** All the chunks of one flush together: the write cost, as opposed to the longest wait. */
  chunkedTotalMedianMs: number;
  wholeMedianMs: number;
  wholeWorstMs: number;
}

/**
 * How long persisting heartbeat times blocks the event loop: the same dirty set written as
 * chunks (what housekeeping does, yielding between chunks) and as one transaction of every row.
 * In-process and synchronous, so the time of a call is exactly the time requests wait.
 */
export function benchLivenessFlush(settings: LivenessFlushSettings): LivenessFlushResult {
  const clock = new ManualClock();
  const store = new SqliteStore({ path: join(settings.workDir, 'liveness-flush.db') });
  try {
    const registry = new Registry({ store, clock });
    registerFleet(registry, settings.fleet);
    const chunkMs: number[] = [];
    const chunkedTotalMs: number[] = [];
    const wholeMs: number[] = [];
    let chunksPerFlush = 0;
    // Repetition 0 warms V8 and SQLite's page cache and is not counted. Alternating the two
    // ways of flushing spreads the machine's noise over both.
    for (let repetition = 0; repetition <= settings.repetitions; repetition++) {
      heartbeatAll(registry, clock, settings.fleet);
      const chunks = timeChunkedFlush(registry, settings.chunkRows);
      heartbeatAll(registry, clock, settings.fleet);
      const whole = timeFlush(registry, settings.fleet.instances);
      if (repetition === 0) continue;
      chunkMs.push(...chunks);
      chunkedTotalMs.push(sum(chunks));
      chunksPerFlush = chunks.length;
      wholeMs.push(whole);
    }
    return {
      instances: settings.fleet.instances,
      chunkRows: settings.chunkRows,
      repetitions: settings.repetitions,
      chunksPerFlush,
      chunkMedianMs: median(chunkMs),
      chunkWorstMs: max(chunkMs),
      chunkedTotalMedianMs: median(chunkedTotalMs),
      wholeMedianMs: median(wholeMs),
      wholeWorstMs: max(wholeMs),
    };
  } finally {
    store.close();
  }
}

function registerFleet(registry: Registry, fleet: Fleet): void {
  const registration = InstanceRegistration.parse(REGISTRATION);
  for (let n = 0; n < fleet.instances; n++) {
    const { service, id } = instanceName(fleet, n);
    registry.register(service, id, registration);
  }
}

/** A new heartbeat time for every instance: plain liveness, held in memory until flushed. */
function heartbeatAll(registry: Registry, clock: ManualClock, fleet: Fleet): void {
  clock.advance(1000);
  for (let n = 0; n < fleet.instances; n++) {
    const { service, id } = instanceName(fleet, n);
    registry.heartbeat(service, id, {});
  }
  if (registry.pendingLiveness !== fleet.instances) {
    throw new Error(`expected ${fleet.instances} pending heartbeat times, found ${registry.pendingLiveness}`);
  }
}

function timeChunkedFlush(registry: Registry, chunkRows: number): number[] {
  const durations: number[] = [];
  while (registry.pendingLiveness > 0) durations.push(timeFlush(registry, chunkRows));
  return durations;
}

function timeFlush(registry: Registry, maxRows: number): number {
  const started = performance.now();
  const written = registry.flushLiveness(maxRows);
  const elapsed = performance.now() - started;
  if (written === 0) throw new Error('flushLiveness wrote nothing while heartbeat times were pending');
  return elapsed;
}
