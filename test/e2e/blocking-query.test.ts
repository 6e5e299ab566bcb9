import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { client } from '../support/http.js';
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

  test('a blocked list returns within 100 ms of a change to it', async () => {
    const index = indexOf(await api.instances('web'));
    const started = performance.now();
    const blocked = api.instances('web', `?index=${index}&wait=30s`).then((response) => ({ response, at: performance.now() }));
    await sleep(300);
    const changedAt = performance.now();
    await api.register('web', 'w2');
    const { response, at } = await blocked;
    assert.ok(at - started >= 300, 'it waited for the change');
    assert.ok(at - changedAt < 100, `released ${Math.round(at - changedAt)} ms after the change`);
    assert.ok(indexOf(response) > index);
    assert.deepEqual(response.body.map((i) => i.id), ['w1', 'w2']);
  });

  test('without a change it answers after wait with the same index', async () => {
    const index = indexOf(await api.instances('web'));
    const started = performance.now();
    const response = await api.instances('web', `?index=${index}&wait=1s`);
    const waited = performance.now() - started;
    assert.ok(waited >= 950 && waited < 2_000, `waited ${Math.round(waited)} ms`);
    assert.equal(indexOf(response), index);
  });

  test("another service's change does not release it nor move its index", async () => {
    const index = indexOf(await api.instances('web'));
    const blocked = api.instances('web', `?index=${index}&wait=1s`);
    await sleep(100);
    await api.register('db', 'd2');
    await api.delete('/v1/services/db/instances/d2');
    const response = await blocked;
    assert.equal(indexOf(response), index);
  });

  test('plain heartbeats do not release a blocked list', async () => {
    const index = indexOf(await api.instances('web'));
    const blocked = api.instances('web', `?index=${index}&wait=800ms`);
    for (let i = 0; i < 5; i++) await api.heartbeat('web', 'w1');
    assert.equal(indexOf(await blocked), index);
  });

  test('the service list blocks too and wakes when a service appears', async () => {
    const first = await api.get('/v1/services');
    const blocked = api.get(`/v1/services?index=${indexOf(first)}&wait=30s`);
    await sleep(100);
    await api.register('cache', 'c1');
    const response = await blocked;
    assert.ok(indexOf(response) > indexOf(first));
    assert.ok(response.body.some((service: { name: string }) => service.name === 'cache'));
  });

  test('a client that hangs up frees its waiter', async () => {
    const gauge = async () => Number(/^beacon_blocking_queries (\d+)/m.exec(await (await fetch(`${server.url}/metrics`)).text())?.[1]);
    const index = indexOf(await api.instances('web'));
    const controller = new AbortController();
    const blocked = fetch(`${server.url}/v1/services/web/instances?index=${index}&wait=60s`, { signal: controller.signal }).catch(
      (error: Error) => error.name,
    );
    await sleep(200);
    assert.equal(await gauge(), 1);
    controller.abort();
    assert.equal(await blocked, 'AbortError');
    await sleep(200);
    assert.equal(await gauge(), 0);
  });
});
