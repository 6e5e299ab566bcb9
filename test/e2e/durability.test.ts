import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import Database from 'better-sqlite3';
import { client } from '../support/http.js';
import { startServerProcess } from '../support/server-process.js';
import { tempDir } from '../support/temp.js';

/**
 * Every 2xx for a registration survives kill -9: 1,000 registrations with 50 in flight, the
 * server SIGKILLed mid-stream, restarted on the same file.
 */
test('every acknowledged registration survives SIGKILL mid-stream, and the database stays intact', async (t) => {
  const db = join(tempDir(t), 'beacon.db');
  const server = await startServerProcess(['--db', db]);
  const api = client(server.url);

  const total = 1_000;
  const acknowledged: string[] = [];
  let next = 0;
  let killed = false;
  const worker = async () => {
    while (next < total) {
      const id = `i-${next++}`;
      try {
        const response = await api.register('durable', id, { port: 1 + (next % 60000) });
        if (response.status === 201) acknowledged.push(id);
        else assert.fail(`registration ${id} answered ${response.status}`);
      } catch {
        // The connection died with the server: this registration was never acknowledged.
      }
      if (!killed && acknowledged.length >= total / 2) {
        killed = true;
        server.child.kill('SIGKILL');
      }
    }
  };
  await Promise.all(Array.from({ length: 50 }, worker));
  assert.equal(await server.stop(), null, 'the server died by SIGKILL');
  assert.ok(acknowledged.length >= total / 2 && acknowledged.length < total, `${acknowledged.length} acknowledged`);

  const check = new Database(db, { readonly: true });
  assert.equal(check.pragma('integrity_check', { simple: true }), 'ok');
  check.close();

  const restarted = await startServerProcess(['--db', db]);
  t.after(() => restarted.stop());
  const stored = new Set((await client(restarted.url).instances('durable')).body.map((instance) => instance.id));
  const lost = acknowledged.filter((id) => !stored.has(id));
  assert.deepEqual(lost, [], `${lost.length} acknowledged registrations lost`);
});
