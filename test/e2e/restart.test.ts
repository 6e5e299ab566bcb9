import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { waitFor } from '../support/events.js';
import { client } from '../support/http.js';
import { startServerProcess } from '../support/server-process.js';
import { tempDir } from '../support/temp.js';

test('instances with a 2 s TTL are still passing right after a restart that took longer than 2 s', async (t) => {
  const db = join(tempDir(t), 'beacon.db');
  const first = await startServerProcess(['--db', db]);
  const api = client(first.url);
  let lastExpiry = 0;
  for (let i = 0; i < 20; i++) {
    const registered = await api.register('web', `w${i}`, { ttl: 2 });
    assert.equal(registered.status, 201);
    lastExpiry = Math.max(lastExpiry, Date.parse(registered.body.expiresAt));
  }
  assert.equal(await first.stop('SIGKILL'), null);

  // Time is the subject: the registry stays down until every TTL has run out (the server's
  // clock is this machine's wall clock, as Date.now() reads it).
  await sleep(Math.max(0, lastExpiry - Date.now()) + 100);
  // Self-preservation off: 20 instances expiring together is exactly what it would hold back
  // (test/server/registry/self-preservation.test.ts); here only the grace is under test.
  const restartedFrom = Date.now();
  const second = await startServerProcess(['--db', db, '--self-preservation', '0']);
  const restartedBy = Date.now();
  t.after(() => second.stop());
  const instances = (await client(second.url).instances('web')).body;
  assert.equal(instances.length, 20);
  assert.deepEqual(new Set(instances.map((instance) => instance.status)), new Set(['passing']));

  // The grace is one TTL from the restart, not forever: each expiry is 2 s after the moment the
  // second server loaded the database, which lies between spawning it and seeing it listen.
  for (const instance of instances) {
    const expiresAt = Date.parse(instance.expiresAt);
    assert.ok(
      expiresAt >= restartedFrom + 2_000 && expiresAt <= restartedBy + 2_000,
      `${instance.id} expires at ${instance.expiresAt}, not 2 s after a restart between ${new Date(restartedFrom).toISOString()} and ${new Date(restartedBy).toISOString()}`,
    );
  }
  const later = await waitFor(
    async () => {
      const listed = (await client(second.url).instances('web')).body;
      return listed.every((instance) => instance.status === 'critical') && listed;
    },
    { what: 'every instance critical once the grace ran out' },
  );
  assert.equal(later.length, 20);
});
