import assert from 'node:assert/strict';
import { once } from 'node:events';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import type { RegistryClientError } from '../../../clients/registry/errors.js';
import type { Instance } from '../../../contract/instance.js';
import { nextEvent, waitFor } from '../../support/events.js';
import { client } from '../../support/http.js';
import { freePort } from '../../support/ports.js';
import { newRegistryClient } from '../../support/registry-client.js';
import { startServerProcess } from '../../support/server-process.js';
import { tempDir } from '../../support/temp.js';

/**
 * The registry stops and comes back on the same port (chosen up front: port 0 would move it),
 * as after a deploy or a crash. Each test has its own registry, so they run side by side.
 */
describe('RegistryClient when the registry goes away', { concurrency: true }, () => {
  test('RegistryClient re-registers after the registry restarts with an empty database', async (t) => {
    const dir = tempDir(t);
    const port = await freePort();
    const first = await startServerProcess(['--http-port', String(port), '--db', join(dir, 'first.db')]);
    const registryClient = newRegistryClient(first.url, 'survivor');
    t.after(() => registryClient.close());
    await registryClient.start();

    await first.stop();
    await once(registryClient, 'unreachable');
    const reregistered = nextEvent(registryClient, 'reregistered');
    const second = await startServerProcess(['--http-port', String(port), '--db', join(dir, 'empty.db')]);
    t.after(() => second.stop());
    const [instance] = (await reregistered) as [Instance];

    assert.equal(instance.id, 'survivor');
    const shown = await client(second.url).get('/v1/services/web/instances/survivor');
    assert.deepEqual([shown.status, shown.body.status], [200, 'passing']);
  });

  test("while the registry is down it emits 'unreachable' with doubling delays, reset by the first success", async (t) => {
    const dir = tempDir(t);
    const port = await freePort();
    const args = ['--http-port', String(port), '--db', join(dir, 'beacon.db')];
    const first = await startServerProcess(args);
    const registryClient = newRegistryClient(first.url, 'patient');
    await registryClient.start();
    const delays: number[] = [];
    registryClient.on('unreachable', (_error, retryInMs) => delays.push(retryInMs));

    await first.stop();
    await waitFor(() => delays.length >= 4, { what: () => `four failures while the registry is down (${delays.length} so far)` });
    const whileDown = delays.splice(0);
    const recovered = nextEvent(registryClient, 'heartbeat');
    const second = await startServerProcess(args);
    t.after(() => second.stop());
    await recovered;
    await second.stop();
    const [, firstDelayAfterRecovery] = (await once(registryClient, 'unreachable')) as [RegistryClientError, number];

    assert.deepEqual(whileDown.slice(0, 4), [50, 100, 200, 400]); // FAST_BACKOFF, no jitter
    assert.equal(firstDelayAfterRecovery, 50);
    // With nobody to deregister from, close() says so (the instance will expire by its TTL).
    await assert.rejects(registryClient.close(), { code: 'unreachable' });
  });

  test('start() waits out an unreachable registry with back-off and resolves once it answers', async (t) => {
    const port = await freePort();
    const registryClient = newRegistryClient(`http://127.0.0.1:${port}`, 'early');
    t.after(() => registryClient.close());
    const failures: RegistryClientError[] = [];
    registryClient.on('unreachable', (error) => failures.push(error));

    const started = registryClient.start();
    await once(registryClient, 'unreachable');
    const server = await startServerProcess(['--http-port', String(port), '--db', ':memory:']);
    t.after(() => server.stop());

    assert.equal((await started).id, 'early');
    assert.equal(failures[0]!.code, 'unreachable');
    assert.match(failures[0]!.message, /ECONNREFUSED/);
  });

  test('close() during start() rejects start() with code closed, and has nothing to deregister', async () => {
    const registryClient = newRegistryClient(`http://127.0.0.1:${await freePort()}`, 'never');
    const started = registryClient.start();
    await once(registryClient, 'unreachable');

    const closed = registryClient.close();

    await assert.rejects(started, { code: 'closed' });
    await closed;
  });
});
