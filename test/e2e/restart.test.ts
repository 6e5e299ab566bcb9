import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { client } from '../support/http.js';
import { startServerProcess } from '../support/server-process.js';
import { tempDir } from '../support/temp.js';

test('instances with a 2 s TTL are still passing right after a restart that took longer than 2 s', async (t) => {
  const db = join(tempDir(t), 'beacon.db');
  const first = await startServerProcess(['--db', db]);
  const api = client(first.url);
  for (let i = 0; i < 20; i++) assert.equal((await api.register('web', `w${i}`, { ttl: 2 })).status, 201);
  assert.equal(await first.stop('SIGKILL'), null);

  await sleep(2_500);
  // Self-preservation off: 20 instances expiring together is exactly what it would hold back
  // (test/server/registry/self-preservation.test.ts); here only the grace is under test.
  const second = await startServerProcess(['--db', db, '--self-preservation', '0']);
  t.after(() => second.stop());
  const instances = (await client(second.url).instances('web')).body;
  assert.equal(instances.length, 20);
  assert.deepEqual(new Set(instances.map((instance) => instance.status)), new Set(['passing']));

  // The grace is one TTL, not forever: without heartbeats they expire ~2 s after the restart.
  await sleep(2_400);
  const later = (await client(second.url).instances('web')).body;
  assert.deepEqual(new Set(later.map((instance) => instance.status)), new Set(['critical']));
});
