import type { Agent } from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import { sendRequest } from '../support/beacon-http.js';
import { type Fleet, instancePath } from '../support/fleet.js';
import { describeFailure, type ErrorTally } from './error-tally.js';

export interface HeartbeatLoad {
  url: string;
  agent: Agent;
  fleet: Fleet;
  intervalMs: number;
  concurrency: number;
  /** When the load stops; heartbeats already sent still finish. */
  deadline: number;
  /** Instances being deregistered and registered again right now: a heartbeat would rightly get 404. */
  churning: ReadonlySet<number>;
  errors: ErrorTally;
}

export interface HeartbeatCount {
  sent: number;
  /** Heartbeats sent more than a second after their slot: the load generator (or Beacon) fell behind. */
  late: number;
}

/** How late a heartbeat may be before it counts as late: a fifth of the 5 s interval. */
const LATE_MS = 1_000;

/**
 * Every instance heartbeats once per interval, instance n at slot n of each interval so the
 * heartbeats are spread evenly (10,000 every 5 s: one every 0.5 ms), by `concurrency` workers
 * that each wait for the next slot: a slow answer makes heartbeats late, never more in flight.
 */
export async function runHeartbeats(load: HeartbeatLoad, count: HeartbeatCount): Promise<void> {
  const started = Date.now();
  const slotMs = load.intervalMs / load.fleet.instances;
  const paths = Array.from({ length: load.fleet.instances }, (_, n) => `${load.url}${instancePath(load.fleet, n)}/heartbeat`);
  let nextSlot = 0;
  const worker = async () => {
    for (;;) {
      const slot = nextSlot++;
      const due = started + slot * slotMs;
      if (due >= load.deadline) return;
      const wait = due - Date.now();
      if (wait > 0) await sleep(wait);
      else if (-wait > LATE_MS) count.late++;
      const n = slot % load.fleet.instances;
      if (load.churning.has(n)) continue;
      count.sent++;
      try {
        const answer = await sendRequest(load.agent, 'PUT', paths[n]!);
        if (answer.status !== 200) load.errors.record('httpStatus', `heartbeat ${paths[n]} answered ${answer.status}: ${answer.text.slice(0, 200)}`);
      } catch (error) {
        load.errors.record('httpSocket', `heartbeat ${paths[n]}: ${describeFailure(error)}`);
      }
    }
  };
  await Promise.all(Array.from({ length: load.concurrency }, worker));
}
