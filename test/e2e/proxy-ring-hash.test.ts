import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Pool } from 'undici';
import { type Backend, startBackend } from '../support/backends.js';
import { waitFor } from '../support/events.js';
import { client } from '../support/http.js';
import { proxyStats, startProxyProcess } from '../support/proxy-process.js';
import { type ServerProcess, startServerProcess } from '../support/server-process.js';

const USERS = Array.from({ length: 200 }, (_, i) => `user-${i}`);

/** One GET per user id (in `x-user-id`), `rounds` times over: which backend answered each user, every time. */
async function backendsByUser(url: string, rounds: number): Promise<Map<string, Set<string>>> {
  const pool = new Pool(url, { connections: 8 });
  const seen = new Map<string, Set<string>>(USERS.map((user) => [user, new Set()]));
  try {
    for (let round = 0; round < rounds; round++) {
      await Promise.all(
        USERS.map(async (user) => {
          const { statusCode, body } = await pool.request({ path: '/', method: 'GET', headers: { 'x-user-id': user } });
          const text = await body.text();
          assert.equal(statusCode, 200, text);
          seen.get(user)!.add((JSON.parse(text) as { backend: string }).backend);
        }),
      );
    }
  } finally {
    await pool.close();
  }
  return seen;
}

describe('beacon proxy --policy ring-hash, end to end (real registry, real backends, real sockets)', () => {
  let registry: ServerProcess;
  const backends: Backend[] = [];

  before(async () => {
    registry = await startServerProcess(['--db', ':memory:']);
  });
  after(async () => {
    await Promise.all(backends.map((backend) => backend.kill().catch(() => {})));
    await registry?.stop();
  });

  async function register(name: string): Promise<void> {
    const backend = await startBackend(name);
    backends.push(backend);
    const registered = await client(registry.url).register('sticky', name, { address: '127.0.0.1', port: backend.port, weight: 1, ttl: 300 });
    assert.equal(registered.status, 201);
  }

  it('requests with the same header value hit the same backend; a 4th backend takes about a quarter of the users, and only those move', async (t) => {
    for (const name of ['b0', 'b1', 'b2']) await register(name);
    const running = await startProxyProcess(['--service', 'sticky', '--registry', registry.url, '--policy', 'ring-hash', '--hash-header', 'X-User-Id']);
    t.after(() => running.stop());
    await waitFor(async () => (await proxyStats(running.ready.adminUrl)).instances.length === 3, { what: 'the proxy to know the 3 backends' });

    const before = await backendsByUser(running.ready.url, 3);
    await register('b3');
    await waitFor(async () => (await proxyStats(running.ready.adminUrl)).instances.length === 4, { what: 'the proxy to see the 4th backend' });
    const after = await backendsByUser(running.ready.url, 1);

    for (const [user, answered] of before) assert.equal(answered.size, 1, `${user} was answered by ${[...answered].join(', ')}`);
    assert.equal(new Set([...before.values()].flatMap((answered) => [...answered])).size, 3, 'the users spread over all 3 backends');
    const moved = USERS.filter((user) => [...before.get(user)!][0] !== [...after.get(user)!][0]);
    assert.ok(moved.every((user) => after.get(user)!.has('b3')), 'every user that moved went to the new backend');
    assert.ok(moved.length >= 0.12 * USERS.length && moved.length <= 0.38 * USERS.length, `${moved.length} of ${USERS.length} users moved`);
  });
});
