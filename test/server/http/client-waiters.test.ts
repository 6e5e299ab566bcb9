import assert from 'node:assert/strict';
import { test } from 'node:test';
import { buildApp } from '../../../server/http/app.js';
import { Metrics } from '../../../server/metrics/metrics.js';
import { registration, registryWithClock } from '../../support/registry.js';

test('a client past --max-waiters-per-client gets 429 for one more blocking query; others still block', async (t) => {
  const { registry } = registryWithClock();
  registry.register('web', 'w1', registration());
  const app = await buildApp({ registry, metrics: new Metrics(), maxWaitersPerClient: 2, logLevel: false });
  t.after(() => app.close());
  const index = registry.serviceIndex('web');
  const block = (remoteAddress: string) => app.inject({ method: 'GET', url: `/v1/services/web/instances?index=${index}&wait=30s`, remoteAddress });

  const waiting = [block('10.1.1.1'), block('10.1.1.1'), block('10.2.2.2')];
  await new Promise((resolve) => setTimeout(resolve, 50));
  const refused = await block('10.1.1.1');
  registry.register('web', 'w2', registration()); // releases the three
  const released = await Promise.all(waiting);
  const afterwards = block('10.1.1.1');
  await new Promise((resolve) => setTimeout(resolve, 50));
  registry.register('web', 'w3', registration());

  assert.equal(refused.statusCode, 429);
  assert.equal(refused.headers['retry-after'], '1');
  assert.match((refused.json() as { message: string }).message, /^too many blocking queries from 10\.1\.1\.1: at most 2 at once \(--max-waiters-per-client\)/);
  assert.deepEqual(released.map((response) => response.statusCode), [200, 200, 200]);
  assert.equal((await afterwards).statusCode, 200, 'released waiters free their places');
});
