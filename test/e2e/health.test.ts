import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { waitFor } from '../support/events.js';
import { client } from '../support/http.js';
import { startServerProcess } from '../support/server-process.js';
import { tempDir } from '../support/temp.js';

/** The health model end to end: a real server process, real SQLite file, real TTLs of 1-2 s, awaited by reading the statuses. */
test('an instance turns critical when heartbeats stop, recovers with one, and is removed after deregisterAfter', async (t) => {
  const server = await startServerProcess(['--db', join(tempDir(t), 'beacon.db')]);
  t.after(() => server.stop());
  const api = client(server.url);

  assert.equal((await api.register('web', 'w1', { ttl: 1, deregisterAfter: 1 })).status, 201);
  assert.equal((await api.register('web', 'w2', { ttl: 2 })).status, 201);
  const statuses = async () => Object.fromEntries((await api.instances('web')).body.map((i) => [i.id, i.status]));
  /** Heartbeats w2, keeping it alive, and reads the statuses until they show what is awaited. */
  const untilStatuses = (what: string, shown: (now: Record<string, string>) => boolean) =>
    waitFor(
      async () => {
        assert.equal((await api.heartbeat('web', 'w2')).status, 200);
        const now = await statuses();
        return shown(now) && now;
      },
      { what, intervalMs: 100 },
    );

  // w1 goes silent while w2 keeps heartbeating.
  assert.deepEqual(await untilStatuses('w1 to turn critical', (now) => now.w1 === 'critical'), { w1: 'critical', w2: 'passing' });
  assert.deepEqual((await api.instances('web', '?healthy=true')).body.map((i) => i.id), ['w2']);

  assert.equal((await api.heartbeat('web', 'w1')).body.status, 'passing');
  assert.deepEqual(await statuses(), { w1: 'passing', w2: 'passing' });

  // Silent again: critical once its TTL runs out, removed deregisterAfter later.
  assert.deepEqual(await untilStatuses('w1 to turn critical again', (now) => now.w1 === 'critical'), { w1: 'critical', w2: 'passing' });
  assert.deepEqual(await untilStatuses('w1 to be removed', (now) => !('w1' in now)), { w2: 'passing' });
  assert.equal((await api.heartbeat('web', 'w1')).status, 404, 'a removed instance must register again');

  const metrics = await (await fetch(`${server.url}/metrics`)).text();
  assert.match(metrics, /^beacon_expirations_total [2-9]/m);
  assert.match(metrics, /^beacon_removals_total 1$/m);
});
