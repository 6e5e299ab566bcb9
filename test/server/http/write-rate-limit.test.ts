import assert from 'node:assert/strict';
import { test } from 'node:test';
import { buildApp } from '../../../server/http/app.js';
import { Metrics } from '../../../server/metrics/metrics.js';
import { registryWithClock } from '../../support/registry.js';

test('writes past --write-rate-limit from one address get 429 with Retry-After; reads and other addresses go on', async (t) => {
  const { registry } = registryWithClock();
  const app = await buildApp({ registry, metrics: new Metrics(), writeRateLimit: 3, logLevel: false });
  t.after(() => app.close());
  const write = (id: string, remoteAddress = '10.1.1.1') =>
    app.inject({ method: 'PUT', url: `/v1/services/web/instances/${id}`, payload: { address: '10.0.0.1', port: 80 }, remoteAddress });

  const allowed = [await write('w1'), await write('w2'), await write('w3')];
  const refused = await write('w4');
  const otherClient = await write('w5', '10.2.2.2');
  const read = await app.inject({ method: 'GET', url: '/v1/services/web/instances', remoteAddress: '10.1.1.1' });

  assert.deepEqual(allowed.map((response) => response.statusCode), [201, 201, 201]);
  assert.equal(refused.statusCode, 429);
  assert.ok(Number(refused.headers['retry-after']) >= 1, `retry-after ${refused.headers['retry-after']}`);
  assert.deepEqual(Object.keys(refused.json() as object).sort(), ['error', 'message', 'statusCode']);
  assert.match((refused.json() as { message: string }).message, /^too many writes from 10\.1\.1\.1: at most 3 a second \(--write-rate-limit\); retry in /);
  assert.equal(otherClient.statusCode, 201);
  assert.equal(read.statusCode, 200);
  assert.deepEqual(registry.listInstances('web').map((instance) => instance.id), ['w1', 'w2', 'w3', 'w5'], 'the refused write changed nothing');
});

test('without --write-rate-limit nothing is limited', async (t) => {
  const { registry } = registryWithClock();
  const app = await buildApp({ registry, metrics: new Metrics(), logLevel: false });
  t.after(() => app.close());

  const statuses = [];
  for (let i = 0; i < 50; i++) statuses.push((await app.inject({ method: 'PUT', url: `/v1/services/web/instances/w${i}/heartbeat` })).statusCode);

  assert.deepEqual(new Set(statuses), new Set([404]));
});
