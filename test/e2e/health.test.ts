import assert from 'node:assert/strict';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { test } from 'node:test';
import { client } from '../support/http.js';
import { startServerProcess } from '../support/server-process.js';
import { tempDir } from '../support/temp.js';

/** The health model end to end: a real server process, real SQLite file, real TTLs of 1-2 s. */
test('an instance turns critical when heartbeats stop, recovers with one, and is removed after deregisterAfter', async (t) => {
  const server = await startServerProcess(['--db', join(tempDir(t), 'beacon.db')]);
  t.after(() => server.stop());
  const api = client(server.url);

  assert.equal((await api.register('web', 'w1', { ttl: 1, deregisterAfter: 1 })).status, 201);
  assert.equal((await api.register('web', 'w2', { ttl: 2 })).status, 201);
  const statuses = async () => Object.fromEntries((await api.instances('web')).body.map((i) => [i.id, i.status]));

  // Keep w2 alive while w1 goes silent.
  await sleep(600);
  assert.equal((await api.heartbeat('web', 'w2')).status, 200);
  await sleep(700);
  assert.deepEqual(await statuses(), { w1: 'critical', w2: 'passing' });
  assert.deepEqual((await api.instances('web', '?healthy=true')).body.map((i) => i.id), ['w2']);

  assert.equal((await api.heartbeat('web', 'w1')).body.status, 'passing');
  assert.deepEqual(await statuses(), { w1: 'passing', w2: 'passing' });

  // Silent again: critical after 1 s, removed 1 s later.
  await api.heartbeat('web', 'w2');
  await sleep(1_300);
  await api.heartbeat('web', 'w2');
  assert.equal((await statuses()).w1, 'critical');
  await sleep(1_200);
  assert.deepEqual(await statuses(), { w2: 'passing' });
  assert.equal((await api.heartbeat('web', 'w1')).status, 404, 'a removed instance must register again');

  const metrics = await (await fetch(`${server.url}/metrics`)).text();
  assert.match(metrics, /^beacon_expirations_total [2-9]/m);
  assert.match(metrics, /^beacon_removals_total 1$/m);
});
