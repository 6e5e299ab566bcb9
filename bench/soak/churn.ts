import type { Agent } from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import { sendRequest } from '../support/beacon-http.js';
import { type Fleet, instancePath } from '../support/fleet.js';
import { describeFailure, type ErrorTally } from './error-tally.js';

export interface ChurnLoad {
  url: string;
  agent: Agent;
  fleet: Fleet;
  registrationBody: string;
  intervalMs: number;
  /** Churn only instances of the first this many services: the watched ones, so each churn wakes a watcher. */
  services: number;
  deadline: number;
  /** Filled while an instance is away, so the heartbeats leave it alone. */
  churning: Set<number>;
  errors: ErrorTally;
}

export interface ChurnCount {
  deregistered: number;
  registered: number;
}

/** Once per interval, a random instance of a watched service is deregistered (204) and registered again (201). */
export async function runChurn(load: ChurnLoad, count: ChurnCount): Promise<void> {
  const perService = load.fleet.instances / load.fleet.services;
  for (;;) {
    const due = Date.now() + load.intervalMs;
    if (due >= load.deadline) return;
    await sleep(load.intervalMs);
    const n = Math.floor(Math.random() * perService) * load.fleet.services + Math.floor(Math.random() * load.services);
    const url = `${load.url}${instancePath(load.fleet, n)}`;
    load.churning.add(n);
    try {
      if (await churnStep(load, 'DELETE', url, 204)) count.deregistered++;
      if (await churnStep(load, 'PUT', url, 201)) count.registered++;
    } finally {
      load.churning.delete(n);
    }
  }
}

async function churnStep(load: ChurnLoad, method: 'DELETE' | 'PUT', url: string, expected: number): Promise<boolean> {
  try {
    const answer = await sendRequest(load.agent, method, url, method === 'PUT' ? { body: load.registrationBody } : {});
    if (answer.status === expected) return true;
    load.errors.record('httpStatus', `churn ${method} ${url} answered ${answer.status}: ${answer.text.slice(0, 200)}`);
  } catch (error) {
    load.errors.record('httpSocket', `churn ${method} ${url}: ${describeFailure(error)}`);
  }
  return false;
}
