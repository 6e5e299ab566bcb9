import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { RegistryClientError } from '../../../clients/registry/errors.js';
import type { Instance } from '../../../contract/instance.js';
import { nextEvent, waitFor } from '../../support/events.js';
import { client } from '../../support/http.js';
import { newRegistryClient } from '../../support/registry-client.js';
import { suiteRegistry } from '../../support/suite-registry.js';

// The tests of a suite share one registry, each with its own instance id, and run side by side.
describe('RegistryClient against a running registry', { concurrency: true }, () => {
  const registry = suiteRegistry();

  test('start() registers, and heartbeats every ttl/3 keep a 1 s-TTL instance passing for 3 s, each renewing it before it ran out', async (t) => {
    const registryClient = newRegistryClient(registry.server.url, 'kept-alive');
    t.after(() => registryClient.close());
    const heartbeats: Instance[] = [];
    registryClient.on('heartbeat', (instance) => heartbeats.push(instance));

    const registered = await registryClient.start();
    await waitFor(() => heartbeats.length >= 10, { what: () => `ten heartbeats (${heartbeats.length} so far)` });

    // Read on the registry's clock, in its answers: each heartbeat came before the TTL the one
    // before gave the instance ran out, so it never lapsed.
    const answers = [registered, ...heartbeats.slice(0, 10)];
    const beatAt = answers.map((instance) => Date.parse(instance.lastHeartbeatAt));
    for (let i = 1; i < answers.length; i++) {
      assert.ok(beatAt[i]! < Date.parse(answers[i - 1]!.expiresAt), `heartbeat ${i} came after ${answers[i - 1]!.expiresAt}, when the instance had expired`);
    }
    // Time is the subject: ttl/3 less its 10% jitter is 300 ms, so ten periods take at least
    // 3 s; 100 ms of slack for timer rounding. Load can only stretch them.
    assert.ok(beatAt[10]! - beatAt[0]! >= 2_900, `ten heartbeats within ${beatAt[10]! - beatAt[0]!} ms`);
    assert.deepEqual(new Set(answers.map((instance) => instance.status)), new Set(['passing']));
    assert.equal((await registry.api.get('/v1/services/web/instances/kept-alive')).body.status, 'passing');
  });

  test('setStatus("warning", output) is sent at once and is what every later heartbeat reports', async (t) => {
    const registryClient = newRegistryClient(registry.server.url, 'warned');
    t.after(() => registryClient.close());
    await registryClient.start();
    const reports: Instance[] = [];
    registryClient.on('heartbeat', (instance) => reports.push(instance));

    registryClient.setStatus('warning', 'disk 91% full');
    // The one setStatus sent, then two of the loop's.
    await waitFor(() => reports.length >= 3, { what: () => `three heartbeats (${reports.length} so far)` });

    assert.deepEqual(
      reports.slice(0, 3).map((instance) => [instance.status, instance.output]),
      [['warning', 'disk 91% full'], ['warning', 'disk 91% full'], ['warning', 'disk 91% full']],
    );
    const shown = (await registry.api.get('/v1/services/web/instances/warned')).body;
    assert.deepEqual([shown.status, shown.output], ['warning', 'disk 91% full']);
  });

  test('heartbeat(body) sends one heartbeat with that status and answers the instance', async (t) => {
    const registryClient = newRegistryClient(registry.server.url, 'one-off', { registration: { address: '127.0.0.1', port: 8080, ttl: 60 } });
    t.after(() => registryClient.close());
    await registryClient.start();

    const instance = await registryClient.heartbeat({ status: 'critical', output: 'db down' });

    assert.deepEqual([instance.status, instance.output], ['critical', 'db down']);
  });

  test('close() deregisters (the registry answers 404 afterwards), stops heartbeating, and can be called twice', async () => {
    const registryClient = newRegistryClient(registry.server.url, 'leaving');
    await registryClient.start();
    let heartbeatsAfterClose = 0;

    await Promise.all([registryClient.close(), registryClient.close()]);
    registryClient.on('heartbeat', () => heartbeatsAfterClose++);
    // Absence is the subject, and nothing marks a heartbeat that never comes: wait out more than
    // one heartbeat period (at most 367 ms for a 1 s TTL). A heartbeat sent anyway would also
    // get 404 and register the instance again, which the 404 below would catch.
    await sleep(500);

    assert.equal((await registry.api.get('/v1/services/web/instances/leaving')).status, 404);
    assert.equal(heartbeatsAfterClose, 0);
  });

  test('a heartbeat that gets 404 registers the instance again at once, without backing off, and emits reregistered', async (t) => {
    const registryClient = newRegistryClient(registry.server.url, 'evicted');
    t.after(() => registryClient.close());
    await registryClient.start();
    const seen: string[] = [];
    registryClient.on('unreachable', (error) => seen.push(`unreachable: ${error.code}`));
    registryClient.on('reregistered', () => seen.push('reregistered'));

    const reregistered = nextEvent(registryClient, 'reregistered', 10_000);
    await registry.api.delete('/v1/services/web/instances/evicted');
    const [instance] = (await reregistered) as [Instance];

    assert.equal(instance.id, 'evicted');
    assert.deepEqual(seen, ['reregistered'], 'no failure and no back-off between the 404 and the registration');
    assert.equal((await registry.api.get('/v1/services/web/instances/evicted')).status, 200);
  });

  test('start() rejects a 4xx at once with the server\'s message, without retrying', async () => {
    const registryClient = newRegistryClient(`${registry.server.url}/no-such-prefix`, 'misrouted');
    let retries = 0;
    registryClient.on('unreachable', () => retries++);

    await assert.rejects(registryClient.start(), (error: RegistryClientError) => {
      assert.equal(error.code, 'rejected');
      assert.equal(error.status, 404);
      assert.match(error.message, /no route PUT \/no-such-prefix\/v1\/services\/web\/instances\/misrouted/);
      return true;
    });
    assert.equal(retries, 0);
    await registryClient.close();
  });

  test('deregisterOnSignals: on SIGTERM the service deregisters, then ends by the signal', async () => {
    const script = fileURLToPath(new URL('../../support/registered-service.js', import.meta.url));
    const child = spawn(process.execPath, [script, registry.server.url, 'web', 'signalled'], { stdio: ['ignore', 'pipe', 'inherit'] });
    const [line] = (await once(child.stdout, 'data')) as [Buffer];
    assert.equal(line.toString().trim(), 'registered');
    assert.equal((await client(registry.server.url).get('/v1/services/web/instances/signalled')).status, 200);

    child.kill('SIGTERM');
    const [code, signal] = (await once(child, 'exit')) as [number | null, NodeJS.Signals | null];

    assert.deepEqual([code, signal], [null, 'SIGTERM']);
    assert.equal((await client(registry.server.url).get('/v1/services/web/instances/signalled')).status, 404);
  });
});

describe('RegistryClient options', () => {
  test('a bad registration throws at construction, naming the field, before any request', () => {
    assert.throws(
      () => newRegistryClient('http://127.0.0.1:1', 'bad', { registration: { address: 'localhost', port: 0 } }),
      (error: RegistryClientError) => {
        assert.equal(error.code, 'invalid_options');
        assert.equal(error.message, 'registration.address: must be an IPv4 or IPv6 literal; registration.port: must be 1-65535');
        return true;
      },
    );
  });

  test('a bad service name, id or registry URL throws at construction', () => {
    assert.throws(() => newRegistryClient('http://127.0.0.1:1', 'ok', { service: 'Web' }), /service: must be one lower-case DNS label/);
    assert.throws(() => newRegistryClient('http://127.0.0.1:1', 'a b'), /id: may contain only/);
    assert.throws(() => newRegistryClient('127.0.0.1:8500', 'ok'), /registry: must be a?n? ?(URL|http)/);
  });
});
