import assert from 'node:assert/strict';
import type { ServerResponse } from 'node:http';
import { describe, test, type TestContext } from 'node:test';
import { RegistryApi } from '../../../clients/registry/registry-api.js';
import { startBackend } from '../../support/backends.js';

interface Seen {
  method: string;
  url: string;
  authorization: string | undefined;
  contentType: string | undefined;
  body: string;
}

/** An HTTP server that records each request and answers with `reply`; resolves with its URL and what it saw. */
async function recordingServer(t: TestContext, reply: (response: ServerResponse) => void) {
  const seen: Seen[] = [];
  const backend = await startBackend('fake-registry', async (request, response) => {
    let body = '';
    for await (const chunk of request) body += chunk;
    seen.push({ method: request.method!, url: request.url!, authorization: request.headers.authorization, contentType: request.headers['content-type'], body });
    reply(response);
  });
  t.after(() => backend.kill());
  return { url: `http://127.0.0.1:${backend.port}`, seen };
}

function json(status: number, body: unknown, headers: Record<string, string> = {}) {
  return (response: ServerResponse) => response.writeHead(status, { 'content-type': 'application/json', ...headers }).end(JSON.stringify(body));
}

function newApi(t: TestContext, registry: string, token?: string): RegistryApi {
  const api = new RegistryApi({ registry, requestTimeoutMs: 1_000, ...(token ? { token } : {}) });
  t.after(() => api.close());
  return api;
}

describe('RegistryApi, the HTTP layer under RegistryClient and InstanceWatcher', () => {
  test('a token is sent as Authorization: Bearer, and a path prefix in the registry URL is kept', async (t) => {
    const fake = await recordingServer(t, json(200, [], { 'x-beacon-index': '3' }));

    await newApi(t, `${fake.url}/beacon`, 's3cret').instances('web', { healthy: true, tag: 'blue' });

    assert.deepEqual(fake.seen.map(({ url, authorization }) => ({ url, authorization })), [
      { url: '/beacon/v1/services/web/instances?healthy=true&tag=blue', authorization: 'Bearer s3cret' },
    ]);
  });

  test('a plain heartbeat has no body; one with a status sends JSON', async (t) => {
    const instance = { service: 'web', id: 'w1', address: '10.0.0.1', port: 80, weight: 1, tags: [], meta: {}, ttl: 15, deregisterAfter: 300, status: 'passing', output: '', maintenanceReason: null, registeredAt: 'x', lastHeartbeatAt: 'x', expiresAt: 'x' };
    const fake = await recordingServer(t, json(200, instance));
    const api = newApi(t, fake.url);

    await api.heartbeat('web', 'w1');
    await api.heartbeat('web', 'w1', { status: 'warning', output: 'slow' });

    assert.deepEqual(fake.seen.map(({ contentType, body }) => [contentType, body]), [
      [undefined, ''],
      ['application/json', '{"status":"warning","output":"slow"}'],
    ]);
  });

  test('answers become error codes: 404 to a heartbeat, 5xx, another 4xx, and bodies that are not the API', async (t) => {
    const cases = [
      { reply: json(404, { message: 'instance web/w1 is not registered' }), call: (api: RegistryApi) => api.heartbeat('web', 'w1'), code: 'not_registered' },
      { reply: json(503, { message: 'the registry could not write to its database: disk full' }), call: (api: RegistryApi) => api.heartbeat('web', 'w1'), code: 'unavailable' },
      { reply: json(403, { message: 'token lacks service:write on web' }), call: (api: RegistryApi) => api.heartbeat('web', 'w1'), code: 'rejected' },
      { reply: json(200, { hello: 'world' }), call: (api: RegistryApi) => api.heartbeat('web', 'w1'), code: 'bad_answer' },
      { reply: json(200, []), call: (api: RegistryApi) => api.instances('web'), code: 'bad_answer' }, // no X-Beacon-Index
    ];
    for (const { reply, call, code } of cases) {
      const fake = await recordingServer(t, reply);
      await assert.rejects(call(newApi(t, fake.url)), { code }, code);
    }
  });

  test("a 4xx error's message carries the registry's message and names the request", async (t) => {
    const fake = await recordingServer(t, json(403, { statusCode: 403, error: 'Forbidden', message: 'token lacks service:write on web' }));

    await assert.rejects(newApi(t, fake.url).deregister('web', 'w1'), {
      code: 'rejected',
      status: 403,
      message: 'registry answered 403 to DELETE /v1/services/web/instances/w1: token lacks service:write on web',
    });
  });

  test('deregistering an instance the registry does not know resolves with false', async (t) => {
    const fake = await recordingServer(t, json(404, { message: 'instance web/w1 is not registered' }));

    assert.equal(await newApi(t, fake.url).deregister('web', 'w1'), false);
  });

  test('services() reads the service list and its index; maintenance() sends the change', async (t) => {
    const summary = { name: 'web', instances: 2, passing: 1, warning: 0, critical: 0, maintenance: 1 };
    const lists = await recordingServer(t, json(200, [summary], { 'x-beacon-index': '7' }));
    const instance = { service: 'web', id: 'w1', address: '10.0.0.1', port: 80, weight: 1, tags: [], meta: {}, ttl: 15, deregisterAfter: 300, status: 'maintenance', output: '', maintenanceReason: 'upgrade', registeredAt: 'x', lastHeartbeatAt: 'x', expiresAt: 'x' };
    const writes = await recordingServer(t, json(200, instance));

    assert.deepEqual(await newApi(t, lists.url).services({ index: 6, waitSeconds: 1 }), { services: [summary], index: 7 });
    assert.equal((await newApi(t, writes.url).maintenance('web', 'w1', { enabled: true, reason: 'upgrade' })).status, 'maintenance');
    assert.deepEqual(lists.seen.map(({ url }) => url), ['/v1/services?index=6&wait=1s']);
    assert.deepEqual(writes.seen.map(({ method, url, body }) => [method, url, body]), [['PUT', '/v1/services/web/instances/w1/maintenance', '{"enabled":true,"reason":"upgrade"}']]);
  });

  test("deregistering with mustExist rejects an unknown instance with the registry's message", async (t) => {
    const fake = await recordingServer(t, json(404, { message: 'instance web/w1 is not registered' }));

    await assert.rejects(newApi(t, fake.url).deregister('web', 'w1', { mustExist: true }), {
      code: 'not_registered',
      status: 404,
      message: 'registry answered 404 to DELETE /v1/services/web/instances/w1: instance web/w1 is not registered',
    });
  });
});
