import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, test, type TestContext } from 'node:test';
import { ManualClock } from '../../../contract/clock.js';
import { buildApp } from '../../../server/http/app.js';
import { Metrics } from '../../../server/metrics/metrics.js';
import { Registry } from '../../../server/registry/registry.js';
import { SqliteStore } from '../../../server/store/sqlite/sqlite-store.js';
import { waitFor } from '../../support/events.js';
import { tempDir } from '../../support/temp.js';

const CANARY = { balancing: 'least-request', retries: { count: 1, budgetPercent: 20 }, split: [{ tag: 'v1', weight: 90 }, { tag: 'v2', weight: 10 }] };

async function appOn(t: TestContext, path: string) {
  const store = new SqliteStore({ path });
  const registry = new Registry({ store, clock: new ManualClock() });
  const app = await buildApp({ registry, metrics: new Metrics(), logLevel: false });
  t.after(async () => {
    await app.close();
    store.close();
  });
  return { app, registry };
}

const policyUrl = (service: string) => `/v1/services/${service}/policy`;

describe('PUT/GET/DELETE /v1/services/{service}/policy', () => {
  test('a policy is created, read back as sent, replaced and removed, each change moving its index', async (t) => {
    const { app } = await appOn(t, ':memory:');

    const created = await app.inject({ method: 'PUT', url: policyUrl('web'), payload: CANARY });
    assert.equal(created.statusCode, 201);
    assert.deepEqual(created.json(), CANARY);
    const read = await app.inject({ method: 'GET', url: policyUrl('web') });
    assert.equal(read.statusCode, 200);
    assert.deepEqual(read.json(), CANARY);
    const first = Number(read.headers['x-beacon-index']);

    const replaced = await app.inject({ method: 'PUT', url: policyUrl('web'), payload: { balancing: 'random' } });
    assert.equal(replaced.statusCode, 200);
    const second = Number(replaced.headers['x-beacon-index']);
    assert.ok(second > first, `${second} > ${first}`);
    assert.deepEqual((await app.inject({ method: 'GET', url: policyUrl('web') })).json(), { balancing: 'random' });

    const removed = await app.inject({ method: 'DELETE', url: policyUrl('web') });
    assert.equal(removed.statusCode, 204);
    const gone = await app.inject({ method: 'GET', url: policyUrl('web') });
    assert.equal(gone.statusCode, 404);
    assert.equal(gone.json().message, 'service "web" has no traffic policy: set one with PUT /v1/services/web/policy');
    assert.ok(Number(gone.headers['x-beacon-index']) > second);
    assert.equal((await app.inject({ method: 'DELETE', url: policyUrl('web') })).statusCode, 404);
  });

  test('setting the same policy again commits nothing: its index stays', async (t) => {
    const { app } = await appOn(t, ':memory:');
    const first = await app.inject({ method: 'PUT', url: policyUrl('web'), payload: CANARY });
    const again = await app.inject({ method: 'PUT', url: policyUrl('web'), payload: CANARY });
    assert.equal(again.statusCode, 200);
    assert.equal(again.headers['x-beacon-index'], first.headers['x-beacon-index']);
  });

  test('a bad policy is a 400 naming the field, and the policy in force is untouched', async (t) => {
    const { app } = await appOn(t, ':memory:');
    await app.inject({ method: 'PUT', url: policyUrl('web'), payload: CANARY });

    const refused = await app.inject({ method: 'PUT', url: policyUrl('web'), payload: { ...CANARY, retries: { count: 1, budgetPercent: 120 } } });

    assert.equal(refused.statusCode, 400);
    assert.match(refused.json().message, /retries\.budgetPercent.*must be 0-100/);
    assert.deepEqual((await app.inject({ method: 'GET', url: policyUrl('web') })).json(), CANARY);
    const badName = await app.inject({ method: 'PUT', url: policyUrl('Web'), payload: CANARY });
    assert.equal(badName.statusCode, 400);
    assert.match(badName.json().message, /service/);
  });

  test('a blocking GET waits for the policy to change, even while none is set, and the change releases it', async (t) => {
    const { app, registry } = await appOn(t, ':memory:');
    const missing = await app.inject({ method: 'GET', url: policyUrl('web') });
    const index = Number(missing.headers['x-beacon-index']);

    const blocked = app.inject({ method: 'GET', url: `${policyUrl('web')}?index=${index}&wait=60s` });
    await waitFor(() => registry.blockedQueries === 1, { what: 'the GET to block' });
    await app.inject({ method: 'PUT', url: policyUrl('web'), payload: CANARY });
    const released = await blocked;

    assert.equal(released.statusCode, 200);
    assert.deepEqual(released.json(), CANARY);
    assert.ok(Number(released.headers['x-beacon-index']) > index);
  });

  test('a policy change does not wake watchers of the service\'s instances, nor the other way round', async (t) => {
    const { app, registry } = await appOn(t, ':memory:');
    const instancesIndex = Number((await app.inject({ method: 'GET', url: '/v1/services/web/instances' })).headers['x-beacon-index']);
    await app.inject({ method: 'PUT', url: policyUrl('web'), payload: CANARY });
    assert.equal(registry.serviceIndex('web'), instancesIndex);
    const policyIndex = registry.policies.index('web');
    await app.inject({ method: 'PUT', url: '/v1/services/web/instances/w1', payload: { address: '10.0.0.1', port: 80 } });
    assert.equal(registry.policies.index('web'), policyIndex);
  });

  test('a policy survives a restart on the same database file', async (t) => {
    const path = join(tempDir(t), 'beacon.db');
    const first = await appOn(t, path);
    await first.app.inject({ method: 'PUT', url: policyUrl('web'), payload: CANARY });
    await first.app.close();

    const second = await appOn(t, path);
    assert.deepEqual((await second.app.inject({ method: 'GET', url: policyUrl('web') })).json(), CANARY);
  });
});

describe('GET /v1/policies', () => {
  test('lists every policy by service name, and any policy change moves its index and releases its watchers', async (t) => {
    const { app, registry } = await appOn(t, ':memory:');
    await app.inject({ method: 'PUT', url: policyUrl('web'), payload: CANARY });
    await app.inject({ method: 'PUT', url: policyUrl('api'), payload: { balancing: 'random' } });
    const listed = await app.inject({ method: 'GET', url: '/v1/policies' });
    assert.equal(listed.statusCode, 200);
    assert.deepEqual(Object.keys(listed.json()), ['api', 'web']);
    assert.deepEqual(listed.json().web, CANARY);
    const index = Number(listed.headers['x-beacon-index']);

    const blocked = app.inject({ method: 'GET', url: `/v1/policies?index=${index}&wait=60s` });
    await waitFor(() => registry.blockedQueries === 1, { what: 'the list to block' });
    await app.inject({ method: 'DELETE', url: policyUrl('api') });
    const released = await blocked;

    assert.deepEqual(Object.keys(released.json()), ['web']);
    assert.ok(Number(released.headers['x-beacon-index']) > index);
  });
});
