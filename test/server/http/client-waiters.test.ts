import assert from 'node:assert/strict';
import { test } from 'node:test';
import { buildApp } from '../../../server/http/app.js';
import { Metrics } from '../../../server/metrics/metrics.js';
import { waitFor } from '../../support/events.js';
import { registration, registryWithClock } from '../../support/registry.js';

test('a client past --max-waiters-per-client gets 429 for one more blocking query; others still block', async (t) => {
  const { registry } = registryWithClock();
  registry.register('web', 'w1', registration());
  const app = await buildApp({ registry, metrics: new Metrics(), maxWaitersPerClient: 2, logLevel: false });
  t.after(() => app.close());
  // Each query waits on the list as it is when sent, so it parks until the next change.
  const block = (remoteAddress: string) =>
    app.inject({ method: 'GET', url: `/v1/services/web/instances?index=${registry.serviceIndex('web')}&wait=30s`, remoteAddress });

  const waiting = [block('10.1.1.1'), block('10.1.1.1'), block('10.2.2.2')];
  await waitFor(() => registry.blockedQueries === 3, { what: 'the three queries parked' });
  const refused = await block('10.1.1.1');
  const parkedPastRefusal = registry.blockedQueries;
  registry.register('web', 'w2', registration()); // releases the three
  const released = await Promise.all(waiting);
  const afterwards = block('10.1.1.1');
  await waitFor(() => registry.blockedQueries === 1, { what: "10.1.1.1's next query parked" });
  registry.register('web', 'w3', registration());

  assert.equal(refused.statusCode, 429);
  assert.equal(refused.headers['retry-after'], '1');
  assert.match((refused.json() as { message: string }).message, /^too many blocking queries from 10\.1\.1\.1: at most 2 at once \(--max-waiters-per-client\)/);
  assert.equal(parkedPastRefusal, 3, 'the refusal left the three parked');
  assert.deepEqual(released.map((response) => response.statusCode), [200, 200, 200]);
  assert.equal((await afterwards).statusCode, 200, 'released waiters free their places');
});
