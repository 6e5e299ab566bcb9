import assert from 'node:assert/strict';
import { test } from 'node:test';
import { buildApp } from '../../../server/http/app.js';
import { Metrics } from '../../../server/metrics/metrics.js';
import { registryWithClock } from '../../support/registry.js';

test('a registration past an instance cap gets 409 naming the cap, and changes nothing', async (t) => {
  const { registry } = registryWithClock(':memory:', { caps: { instances: 10, instancesPerService: 1 } });
  const app = await buildApp({ registry, metrics: new Metrics(), logLevel: false });
  t.after(() => app.close());
  const put = (id: string) => app.inject({ method: 'PUT', url: `/v1/services/web/instances/${id}`, payload: { address: '10.0.0.1', port: 80 } });
  await put('w1');

  const refused = await put('w2');

  assert.equal(refused.statusCode, 409);
  assert.deepEqual(refused.json(), {
    statusCode: 409,
    error: 'Conflict',
    message: 'cannot register web/w2: service web already has 1 instance, the most one service may have (--max-instances-per-service)',
  });
  assert.deepEqual(registry.listInstances('web').map((instance) => instance.id), ['w1']);
});
