import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import Database from 'better-sqlite3';
import { Pool } from 'undici';
import { type ServerProcess, startServerProcess } from '../support/server-process.js';
import { tempDir } from '../support/temp.js';

/**
 * Crash safety under mixed load: register, status changes, maintenance and deregistration,
 * 50 in flight, the server SIGKILLed at a random moment of the load (after a random number of
 * acknowledged operations), restarted on the same file, again and again. After every crash
 * each instance must be exactly in its last acknowledged state, or in the state the one
 * request in flight for it would have made: nothing acknowledged is lost, no half-change
 * appears. `BEACON_CRASH_CYCLES` runs more cycles (the suite runs 8, to stay quick).
 */
const CYCLES = Number(process.env.BEACON_CRASH_CYCLES ?? 8);
const IN_FLIGHT = 50;
const INSTANCES = 200;

/** The model of one instance: what the operations change, maintenance and the check apart. */
interface Model {
  port: number;
  weight: number;
  check: 'passing' | 'warning' | 'critical';
  maintenance: boolean;
}
type State = Model | undefined;

type Operation =
  | { kind: 'register'; port: number; weight: number }
  | { kind: 'status'; status: 'passing' | 'warning' | 'critical' }
  | { kind: 'maintenance'; enabled: boolean }
  | { kind: 'deregister' };

/** The instance's state after `operation` (the registry's rules, as docs/api.md states them). */
function apply(before: State, operation: Operation): State {
  switch (operation.kind) {
    case 'register':
      // A registration resets the check to passing; maintenance survives it.
      return { port: operation.port, weight: operation.weight, check: 'passing', maintenance: before?.maintenance ?? false };
    case 'deregister':
      return undefined;
    case 'status':
      return before && { ...before, check: operation.status };
    case 'maintenance':
      return before && { ...before, maintenance: operation.enabled };
  }
}

/** What the API shows of a state. */
function visible(state: State): string {
  return state ? JSON.stringify({ port: state.port, weight: state.weight, status: state.maintenance ? 'maintenance' : state.check }) : 'absent';
}

function randomOperation(current: State, random: () => number): Operation {
  if (!current) return { kind: 'register', port: 1 + Math.floor(random() * 65_000), weight: Math.floor(random() * 100) };
  const roll = random();
  if (roll < 0.3) return { kind: 'register', port: 1 + Math.floor(random() * 65_000), weight: Math.floor(random() * 100) };
  if (roll < 0.6) return { kind: 'status', status: (['passing', 'warning', 'critical'] as const)[Math.floor(random() * 3)]! };
  if (roll < 0.85) return { kind: 'maintenance', enabled: random() < 0.5 };
  return { kind: 'deregister' };
}

function request(operation: Operation, id: string): { method: 'PUT' | 'DELETE'; path: string; body?: string } {
  const path = `/v1/services/crash/instances/${id}`;
  switch (operation.kind) {
    case 'register':
      return { method: 'PUT', path, body: JSON.stringify({ address: '10.0.0.1', port: operation.port, weight: operation.weight, ttl: 3600 }) };
    case 'status':
      return { method: 'PUT', path: `${path}/heartbeat`, body: JSON.stringify({ status: operation.status }) };
    case 'maintenance':
      return { method: 'PUT', path: `${path}/maintenance`, body: JSON.stringify({ enabled: operation.enabled }) };
    case 'deregister':
      return { method: 'DELETE', path };
  }
}

test(`${CYCLES} SIGKILL cycles under mixed load lose no acknowledged change and leave no half-change`, { timeout: 300_000 }, async (t) => {
  const db = join(tempDir(t), 'beacon.db');
  /**
   * Each instance's possible states: one, unless a request cut by a crash left two that look
   * the same through the API (a status reported in maintenance stays hidden until it ends).
   */
  const acked = new Map<string, State[]>();
  const ids = Array.from({ length: INSTANCES }, (_, i) => `i-${i}`);
  let operationsAcknowledged = 0;
  let operationsCut = 0;

  let inFlight = new Map<string, Operation>();
  let server: ServerProcess | undefined;
  // A failed check must not leave a server running (the test would never end).
  t.after(() => server?.stop('SIGKILL'));
  for (let cycle = 0; cycle <= CYCLES; cycle++) {
    server = await startServerProcess(['--db', db, '--self-preservation', '0']);
    const pool = new Pool(server.url, { connections: IN_FLIGHT });
    // After a crash: every instance is in an acknowledged state or the one its request in flight
    // would have made; whichever it is becomes the truth the next cycle builds on.
    if (cycle > 0) for (const [id, states] of await verify(pool, acked, inFlight)) acked.set(id, states);
    if (cycle === CYCLES) {
      await pool.close();
      await server.stop();
      break;
    }

    // Mixed load: each worker owns its own instances, so at most one request per instance is
    // in flight and the model knows exactly which states are possible after a crash.
    inFlight = new Map<string, Operation>();
    let crashed = false;
    // The crash comes after a random number of acknowledged operations, not after a random time:
    // on a slow machine too it falls amid the load, with requests in flight.
    const crashAfter = 60 + Math.floor(Math.random() * 300);
    let acknowledgedThisCycle = 0;
    let reachCrashPoint!: () => void;
    const crashPoint = new Promise<void>((resolve) => (reachCrashPoint = resolve));
    const worker = async (owned: string[]) => {
      while (!crashed) {
        const id = owned[Math.floor(Math.random() * owned.length)]!;
        const before = acked.get(id) ?? [undefined];
        const operation = randomOperation(before[0], Math.random);
        const { method, path, body } = request(operation, id);
        inFlight.set(id, operation);
        try {
          const response = await pool.request({ method, path, ...(body ? { body, headers: { 'content-type': 'application/json' } } : {}) });
          await response.body.text();
          if (response.statusCode >= 500) throw new Error(`answered ${response.statusCode}`);
          assert.ok(response.statusCode < 300, `${method} ${path} answered ${response.statusCode}`);
          inFlight.delete(id);
          acked.set(id, unique(before.map((state) => apply(state, operation))));
          operationsAcknowledged += 1;
          if (++acknowledgedThisCycle === crashAfter) reachCrashPoint();
        } catch (error) {
          if (!crashed) throw error;
          operationsCut += 1; // the connection died with the server: never acknowledged
          return;
        }
      }
    };
    const working = Promise.all(Array.from({ length: IN_FLIGHT }, (_, w) => worker(ids.filter((_, i) => i % IN_FLIGHT === w))));
    // The workers end only after the crash, unless one fails: then that failure ends the test.
    await Promise.race([crashPoint, working]);
    crashed = true;
    assert.equal(await server.stop('SIGKILL'), null, 'the server died by SIGKILL');
    await working;
    await pool.destroy();

    const check = new Database(db);
    const integrity = check.pragma('integrity_check', { simple: true });
    check.close();
    assert.equal(integrity, 'ok', `cycle ${cycle}: integrity_check`);
  }
  t.diagnostic(`${CYCLES} cycles, ${operationsAcknowledged} operations acknowledged, ${operationsCut} cut by a crash`);
  assert.ok(operationsAcknowledged > CYCLES * 50, 'the load was real');
});

/**
 * Reads every instance back. Each must show one of its possible acknowledged states, or (when a
 * request was in flight at the crash) the state that request would have made from one of them,
 * and nothing in between. Answers the possible states of instances that had a request in flight.
 */
async function verify(pool: Pool, acked: Map<string, State[]>, inFlight: Map<string, Operation>): Promise<Map<string, State[]>> {
  const response = await pool.request({ method: 'GET', path: '/v1/services/crash/instances' });
  const listed = (await response.body.json()) as { id: string; port: number; weight: number; status: string }[];
  const found = new Map(listed.map((instance) => [instance.id, JSON.stringify({ port: instance.port, weight: instance.weight, status: instance.status })]));
  const settled = new Map<string, State[]>();
  for (const id of new Set([...acked.keys(), ...found.keys()])) {
    const actual = found.get(id) ?? 'absent';
    const before = acked.get(id) ?? [undefined];
    const operation = inFlight.get(id);
    const allowed = operation ? unique([...before, ...before.map((state) => apply(state, operation))]) : before;
    const matching = allowed.filter((state) => visible(state) === actual);
    assert.ok(matching.length > 0, `instance ${id}: found ${actual}, acknowledged ${before.map(visible).join(' or ')}, in flight ${JSON.stringify(operation)}`);
    if (operation) settled.set(id, matching);
  }
  return settled;
}

function unique(states: State[]): State[] {
  const seen = new Map(states.map((state) => [JSON.stringify(state ?? null), state]));
  return [...seen.values()];
}
