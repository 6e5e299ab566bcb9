import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { within } from '../support/events.js';
import { client } from '../support/http.js';
import { blockedQueries, blockedQueriesReach } from '../support/metrics.js';
import { type ServerProcess, startServerProcess } from '../support/server-process.js';
import { tempDir } from '../support/temp.js';

describe('blocking queries over HTTP', () => {
  let server: ServerProcess;
  let api: ReturnType<typeof client>;
  before(async () => {
    server = await startServerProcess(['--db', join(tempDir({ after }), 'beacon.db')]);
    api = client(server.url);
    await api.register('web', 'w1');
    await api.register('db', 'd1');
  });
  after(() => server.stop());

  const indexOf = (response: { headers: Headers }) => Number(response.headers.get('x-beacon-index'));

  test('a blocked list waits, parked, until a change to it, then returns the changed list', async () => {
    const index = indexOf(await api.instances('web'));
    let answered = false;
    const blocked = api.instances('web', `?index=${index}&wait=30s`).finally(() => (answered = true));
    await blockedQueriesReach(server.url, 1);

    assert.equal(answered, false, 'parked, not answered');
    await api.register('web', 'w2');
    // Far below the 30 s wait: only the change can have released it.
    const response = await within(blocked, 10_000, 'the blocked list after the change');

    assert.ok(indexOf(response) > index);
    assert.deepEqual(response.body.map((i) => i.id), ['w1', 'w2']);
  });

  test('without a change it answers after wait with the same index', async () => {
    const index = indexOf(await api.instances('web'));
    const started = performance.now();
    // Time is the subject: the query must last its own 1 s wait. The 10 s bound only tells that
    // wait from the 60 s default.
    const response = await api.get(`/v1/services/web/instances?index=${index}&wait=1s`, { signal: AbortSignal.timeout(10_000) });
    const waited = performance.now() - started;
    assert.ok(waited >= 950, `answered after ${Math.round(waited)} ms, before its wait ran out`);
    assert.equal(indexOf(response), index);
  });

  test("another service's change does not release it nor move its index", async () => {
    const index = indexOf(await api.instances('web'));
    const blocked = api.instances('web', `?index=${index}&wait=1s`);
    await blockedQueriesReach(server.url, 1);
    await api.register('db', 'd2');
    await api.delete('/v1/services/db/instances/d2');
    // A change releases its waiters before it is answered: still counted, web's query was not woken.
    assert.equal(await blockedQueries(server.url), 1, 'still parked after db changed twice');
    const response = await blocked;
    assert.equal(indexOf(response), index);
  });

  test('plain heartbeats do not release a blocked list', async () => {
    const index = indexOf(await api.instances('web'));
    const blocked = api.instances('web', `?index=${index}&wait=1s`);
    await blockedQueriesReach(server.url, 1);
    for (let i = 0; i < 5; i++) await api.heartbeat('web', 'w1');
    assert.equal(await blockedQueries(server.url), 1, 'still parked after five heartbeats');
    assert.equal(indexOf(await blocked), index);
  });

  test('the service list blocks too and wakes when a service appears', async () => {
    const first = await api.get('/v1/services');
    const blocked = api.get(`/v1/services?index=${indexOf(first)}&wait=30s`);
    await blockedQueriesReach(server.url, 1);
    await api.register('cache', 'c1');
    const response = await within(blocked, 10_000, 'the blocked service list after the change');
    assert.ok(indexOf(response) > indexOf(first));
    assert.ok(response.body.some((service: { name: string }) => service.name === 'cache'));
  });

  test('a client that hangs up frees its waiter', async () => {
    const index = indexOf(await api.instances('web'));
    const controller = new AbortController();
    const blocked = fetch(`${server.url}/v1/services/web/instances?index=${index}&wait=60s`, { signal: controller.signal }).catch(
      (error: Error) => error.name,
    );
    await blockedQueriesReach(server.url, 1);
    controller.abort();
    assert.equal(await blocked, 'AbortError');
    // Far below the 60 s wait: the hang-up freed it.
    await blockedQueriesReach(server.url, 0);
  });
});
