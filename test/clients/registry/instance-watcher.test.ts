import assert from 'node:assert/strict';
import { once } from 'node:events';
import { join } from 'node:path';
import { beforeEach, describe, test, type TestContext } from 'node:test';
import type { RegistryClientError } from '../../../clients/registry/errors.js';
import { InstanceWatcher, type InstanceWatcherOptions } from '../../../clients/registry/instance-watcher.js';
import type { Instance } from '../../../contract/instance.js';
import { type Backend, type BackendHandler, startBackend } from '../../support/backends.js';
import { nextEvent, waitFor, within } from '../../support/events.js';
import { client } from '../../support/http.js';
import { blockedQueriesReach } from '../../support/metrics.js';
import { freePort } from '../../support/ports.js';
import { FAST_BACKOFF } from '../../support/registry-client.js';
import { startServerProcess } from '../../support/server-process.js';
import { suiteRegistry } from '../../support/suite-registry.js';
import { tempDir } from '../../support/temp.js';

function newWatcher(registry: string, service: string, overrides: Partial<InstanceWatcherOptions> = {}): InstanceWatcher {
  // waitSeconds 30: a change seen within the 10 s of nextChange can only have come from the blocking query.
  return new InstanceWatcher({ registry, service, waitSeconds: 30, backoff: FAST_BACKOFF, requestTimeoutMs: 1_000, ...overrides });
}

/**
 * Resolves with the next 'change'; call it before the act that causes it. Safe to call before
 * starting a server (see nextEvent). The 10 s deadline only ends a hang, and it is far below the
 * watcher's 30 s wait: a change that comes at all came from a parked query the registry released.
 */
function nextChange(watcher: InstanceWatcher, timeoutMs = 10_000): Promise<{ ids: string[]; index: number }> {
  const change = nextEvent(watcher, 'change', timeoutMs).then(([instances, index]) => ({
    ids: (instances as Instance[]).map((instance) => instance.id),
    index: index as number,
  }));
  change.catch(() => undefined);
  return change;
}

/** An HTTP server that plays the registry badly, stopped when the test ends. */
async function fakeRegistry(t: TestContext, handler: BackendHandler): Promise<{ url: string; backend: Backend }> {
  const backend = await startBackend('fake-registry', handler);
  t.after(() => backend.kill());
  return { url: `http://127.0.0.1:${backend.port}`, backend };
}

// Each test watches its own service on one shared registry, one test at a time: the registry's
// blocked-query gauge then counts only the running test's watch.
describe('InstanceWatcher against a running registry', () => {
  const registry = suiteRegistry();
  // The previous test's watch, closed in its cleanup, is gone from the registry too.
  beforeEach(() => blockedQueriesReach(registry.server.url, 0));

  test('ready() resolves with the healthy set: passing and warning, not critical or maintenance', async (t) => {
    await registry.api.register('mixed', 'passing-1');
    await registry.api.register('mixed', 'warning-1');
    await registry.api.heartbeat('mixed', 'warning-1', { status: 'warning' });
    await registry.api.register('mixed', 'critical-1');
    await registry.api.heartbeat('mixed', 'critical-1', { status: 'critical' });
    await registry.api.register('mixed', 'resting-1');
    await registry.api.put('/v1/services/mixed/instances/resting-1/maintenance', { enabled: true });
    const watcher = newWatcher(registry.server.url, 'mixed');
    t.after(() => watcher.close());

    const instances = await watcher.ready();

    assert.deepEqual(instances.map((instance) => instance.id), ['passing-1', 'warning-1']);
    assert.equal(watcher.instances, instances);
    assert.ok(watcher.index > 0);
  });

  test("a registration wakes the parked query: 'change' comes long before the 30 s wait", async (t) => {
    await registry.api.register('joining', 'j1');
    const watcher = newWatcher(registry.server.url, 'joining');
    t.after(() => watcher.close());
    await watcher.ready();
    const before = watcher.index;
    await blockedQueriesReach(registry.server.url, 1);

    const changed = nextChange(watcher);
    await registry.api.register('joining', 'j2');
    const change = await changed;

    assert.deepEqual(change.ids, ['j1', 'j2']);
    assert.ok(change.index > before);
  });

  test("a deregistration wakes the parked query with 'change'", async (t) => {
    await registry.api.register('leaving', 'l1');
    await registry.api.register('leaving', 'l2');
    const watcher = newWatcher(registry.server.url, 'leaving');
    t.after(() => watcher.close());
    await watcher.ready();
    await blockedQueriesReach(registry.server.url, 1);

    const changed = nextChange(watcher);
    await registry.api.delete('/v1/services/leaving/instances/l1');
    const change = await changed;

    assert.deepEqual(change.ids, ['l2']);
  });

  test("a heartbeat turning an instance critical wakes the parked query with 'change', without it", async (t) => {
    await registry.api.register('failing', 'f1');
    await registry.api.register('failing', 'f2');
    const watcher = newWatcher(registry.server.url, 'failing');
    t.after(() => watcher.close());
    await watcher.ready();
    await blockedQueriesReach(registry.server.url, 1);

    const changed = nextChange(watcher);
    await registry.api.heartbeat('failing', 'f2', { status: 'critical', output: 'out of memory' });
    const change = await changed;

    assert.deepEqual(change.ids, ['f1']);
  });

  test("plain heartbeats and output-only changes do not emit 'change'", async (t) => {
    await registry.api.register('steady', 's1');
    const watcher = newWatcher(registry.server.url, 'steady');
    t.after(() => watcher.close());
    await watcher.ready();
    await blockedQueriesReach(registry.server.url, 1);
    const changes: string[][] = [];
    watcher.on('change', (instances) => changes.push(instances.map((instance) => instance.id)));

    for (let i = 0; i < 5; i++) await registry.api.heartbeat('steady', 's1', { output: `check ${i}` });
    // A registration after them does change the set. The watcher handles answers in order, so
    // once it reports this change it has handled whatever the heartbeats may have woken.
    const registered = nextChange(watcher);
    await registry.api.register('steady', 's2');
    await registered;

    assert.deepEqual(changes, [['s1', 's2']], 'the registration is the only change');
  });

  test('with a tag it watches only the instances carrying it', async (t) => {
    await registry.api.register('tagged', 'blue-1', { tags: ['blue'] });
    await registry.api.register('tagged', 'green-1', { tags: ['green'] });
    const watcher = newWatcher(registry.server.url, 'tagged', { tag: 'blue' });
    t.after(() => watcher.close());

    const instances = await watcher.ready();

    assert.deepEqual(instances.map((instance) => instance.id), ['blue-1']);
  });

  test('close() aborts the blocked query at once and rejects ready() callers still waiting', async () => {
    const watcher = newWatcher(registry.server.url, 'closing');
    await watcher.ready();
    await blockedQueriesReach(registry.server.url, 1);

    // Far below the 30 s wait: close() did not wait for the query, and the registry let it go.
    await within(watcher.close(), 10_000, 'close() with a query parked');
    await blockedQueriesReach(registry.server.url, 0);

    const unanswered = newWatcher('http://127.0.0.1:1', 'closing'); // nothing listens on port 1
    const waiting = unanswered.ready();
    const closed = unanswered.close();
    await assert.rejects(waiting, { code: 'closed' });
    await closed;
  });
});

describe('InstanceWatcher when the registry goes away', { concurrency: true }, () => {
  test("keeps the last known set while the registry is down, then reconnects on the same port and follows changes again", async (t) => {
    const dir = tempDir(t);
    const args = ['--http-port', String(await freePort()), '--db', join(dir, 'beacon.db')];
    const first = await startServerProcess(args);
    await client(first.url).register('web', 'w1');
    const watcher = newWatcher(first.url, 'web');
    t.after(() => watcher.close());
    const known = await watcher.ready();

    await first.stop();
    const [error] = (await once(watcher, 'unreachable')) as [RegistryClientError, number];
    // Refused, or a 503 from a registry still shutting down: either way a failure worth retrying.
    assert.ok(error.transient, error.code);
    assert.deepEqual(watcher.instances, known);
    const reconnected = nextEvent(watcher, 'reconnected');
    const second = await startServerProcess(args);
    t.after(() => second.stop());
    await reconnected;
    await blockedQueriesReach(second.url, 1);
    const changed = nextChange(watcher);
    await client(second.url).register('web', 'w2');
    const change = await changed;

    assert.deepEqual(change.ids, ['w1', 'w2']);
  });

  test('an index that goes backwards (a registry on a new database) resets the watch: the new set, then its changes', async (t) => {
    const dir = tempDir(t);
    const port = String(await freePort());
    const first = await startServerProcess(['--http-port', port, '--db', join(dir, 'old.db')]);
    for (let i = 0; i < 10; i++) await client(first.url).register('web', `old-${i}`);
    const watcher = newWatcher(first.url, 'web');
    t.after(() => watcher.close());
    await watcher.ready();
    const oldIndex = watcher.index;

    await first.stop();
    // Starting a process on a loaded machine can take seconds: this deadline is nextEvent's own.
    const reset = nextChange(watcher, 20_000);
    const second = await startServerProcess(['--http-port', port, '--db', join(dir, 'new.db')]);
    t.after(() => second.stop());
    const { ids: afterReset, index: newIndex } = await reset;
    await blockedQueriesReach(second.url, 1);
    const changed = nextChange(watcher);
    await client(second.url).register('web', 'fresh');
    const followed = await changed;

    assert.ok(newIndex < oldIndex, `index ${newIndex} after ${oldIndex}`);
    assert.deepEqual(afterReset, []);
    assert.deepEqual(followed.ids, ['fresh']);
  });

  test("an answer that is not the API counts as a failure: 'unreachable' with back-off, never a crash", async (t) => {
    const impostor = await fakeRegistry(t, (_request, response) =>
      response.writeHead(200, { 'content-type': 'text/html', 'x-beacon-index': '7' }).end('<html>not a registry</html>'),
    );
    const watcher = newWatcher(impostor.url, 'web');
    t.after(() => watcher.close());
    const delays: number[] = [];
    const errors: RegistryClientError[] = [];
    watcher.on('unreachable', (error, retryInMs) => {
      errors.push(error);
      delays.push(retryInMs);
    });

    watcher.start();
    await waitFor(() => delays.length >= 3, { what: 'three failed queries' });

    assert.deepEqual(delays.slice(0, 3), [50, 100, 200]);
    assert.equal(errors[0]!.code, 'bad_answer');
    assert.match(errors[0]!.message, /does not match the API \(not JSON\)/);
    assert.deepEqual(watcher.instances, []);
  });
});

describe('InstanceWatcher against a path that ignores blocking queries', () => {
  test('answers that come back at once with the same index are spaced at least 100 ms apart, not a hot loop', async (t) => {
    const arrivals: number[] = [];
    const eager = await fakeRegistry(t, (_request, response) => {
      arrivals.push(performance.now());
      response.writeHead(200, { 'content-type': 'application/json', 'x-beacon-index': '7' }).end('[]');
    });
    const watcher = newWatcher(eager.url, 'web');
    t.after(() => watcher.close());

    await watcher.ready();
    await waitFor(() => arrivals.length >= 6, { what: 'six queries' });

    // Time is the subject: the spacing is a pause. The first query has no index and the second
    // follows it at once; from the third on, each follows an indexed query answered at once with
    // its own index. The pause runs from each query's send, and the fake registry, in this
    // process, may log an arrival late, which shortens the next gap by as much: so the four gaps
    // together must span the four pauses (less 20 ms for the first arrival's lateness), and no
    // single gap may be short enough to be a hot loop.
    const gaps = [2, 3, 4, 5].map((k) => Math.round(arrivals[k]! - arrivals[k - 1]!));
    const span = gaps.reduce((sum, gap) => sum + gap, 0);
    assert.ok(span >= 380 && gaps.every((gap) => gap >= 50), `gaps of ${gaps.join(', ')} ms between queries`);
  });
});

describe('InstanceWatcher options', () => {
  test('a bad service, tag or waitSeconds throws at construction', () => {
    assert.throws(() => newWatcher('http://127.0.0.1:1', 'Web'), { code: 'invalid_options', message: /^service: must be one lower-case DNS label/ });
    assert.throws(() => newWatcher('http://127.0.0.1:1', 'web', { tag: 'x y' }), { code: 'invalid_options', message: /^tag: / });
    assert.throws(() => newWatcher('http://127.0.0.1:1', 'web', { waitSeconds: 301 }), { code: 'invalid_options', message: /^waitSeconds: must be 1-300/ });
  });
});
