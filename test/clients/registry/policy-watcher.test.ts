import assert from 'node:assert/strict';
import { once } from 'node:events';
import { join } from 'node:path';
import { beforeEach, describe, test } from 'node:test';
import type { RegistryClientError } from '../../../clients/registry/errors.js';
import { PolicyWatcher } from '../../../clients/registry/policy-watcher.js';
import type { TrafficPolicy } from '../../../contract/traffic-policy.js';
import { nextEvent } from '../../support/events.js';
import { client } from '../../support/http.js';
import { blockedQueriesReach } from '../../support/metrics.js';
import { freePort } from '../../support/ports.js';
import { FAST_BACKOFF } from '../../support/registry-client.js';
import { startServerProcess } from '../../support/server-process.js';
import { suiteRegistry } from '../../support/suite-registry.js';
import { tempDir } from '../../support/temp.js';

function newWatcher(registry: string, service: string): PolicyWatcher {
  // waitSeconds 30: a change seen within nextChange's 10 s can only have come from the blocking query.
  return new PolicyWatcher({ registry, service, waitSeconds: 30, backoff: FAST_BACKOFF, requestTimeoutMs: 1_000 });
}

/** The next 'change'; call it before the act that causes it. */
function nextChange(watcher: PolicyWatcher, timeoutMs = 10_000): Promise<{ policy: TrafficPolicy | undefined; index: number }> {
  const change = nextEvent(watcher, 'change', timeoutMs).then(([policy, index]) => ({ policy: policy as TrafficPolicy | undefined, index: index as number }));
  change.catch(() => undefined);
  return change;
}

// One test at a time on a shared registry: its blocked-query gauge then counts only this test's watch.
describe('PolicyWatcher against a running registry', () => {
  const registry = suiteRegistry();
  beforeEach(() => blockedQueriesReach(registry.server.url, 0));

  test("the first answer is a 'change', with the policy set before the watch started", async (t) => {
    const put = await registry.api.put('/v1/services/set-before/policy', { balancing: 'random' });
    assert.equal(put.status, 201);
    const watcher = newWatcher(registry.server.url, 'set-before');
    t.after(() => watcher.close());

    const first = nextChange(watcher);
    watcher.start();
    const change = await first;

    assert.deepEqual(change.policy, { balancing: 'random' });
    assert.equal(change.index, Number(put.headers.get('x-beacon-index')));
    assert.deepEqual(watcher.policy, { balancing: 'random' });
  });

  test('a service with no policy is watched all the same: the first PUT wakes the parked query', async (t) => {
    const watcher = newWatcher(registry.server.url, 'none-yet');
    t.after(() => watcher.close());
    const first = nextChange(watcher);
    watcher.start();
    assert.equal((await first).policy, undefined);
    await blockedQueriesReach(registry.server.url, 1);

    const changed = nextChange(watcher);
    const put = await registry.api.put('/v1/services/none-yet/policy', { split: [{ tag: 'v1', weight: 90 }, { tag: 'v2', weight: 10 }] });
    const change = await changed;

    assert.deepEqual(change.policy, { split: [{ tag: 'v1', weight: 90 }, { tag: 'v2', weight: 10 }] });
    assert.equal(change.index, Number(put.headers.get('x-beacon-index')));
  });

  test("a DELETE is a 'change' to no policy", async (t) => {
    await registry.api.put('/v1/services/removed/policy', { retries: { count: 1 } });
    const watcher = newWatcher(registry.server.url, 'removed');
    t.after(() => watcher.close());
    const first = nextChange(watcher);
    watcher.start();
    await first;
    await blockedQueriesReach(registry.server.url, 1);

    const changed = nextChange(watcher);
    const deleted = await registry.api.delete('/v1/services/removed/policy');
    const change = await changed;

    assert.equal(deleted.status, 204);
    assert.equal(change.policy, undefined);
    assert.equal(watcher.policy, undefined);
  });

  test("another service's policy does not wake it", async (t) => {
    const watcher = newWatcher(registry.server.url, 'quiet');
    t.after(() => watcher.close());
    const first = nextChange(watcher);
    watcher.start();
    await first;
    await blockedQueriesReach(registry.server.url, 1);
    let changes = 0;
    watcher.on('change', () => (changes += 1));

    await registry.api.put('/v1/services/noisy/policy', { balancing: 'random' });
    // The watch on "quiet" is still parked: the registry did not answer it.
    await blockedQueriesReach(registry.server.url, 1);
    const changed = nextChange(watcher);
    await registry.api.put('/v1/services/quiet/policy', { balancing: 'least-request' });
    await changed;

    assert.equal(changes, 1);
  });

  test('close() aborts the parked query at once', async () => {
    const watcher = newWatcher(registry.server.url, 'closing');
    const first = nextChange(watcher);
    watcher.start();
    await first;
    await blockedQueriesReach(registry.server.url, 1);

    await watcher.close();

    await blockedQueriesReach(registry.server.url, 0);
    assert.throws(() => watcher.start(), /closed/);
  });
});

describe('PolicyWatcher when the registry goes away', () => {
  test('keeps the last known policy while the registry is down, then reconnects and follows changes again', async (t) => {
    const dir = tempDir(t);
    const args = ['--http-port', String(await freePort()), '--db', join(dir, 'beacon.db')];
    const first = await startServerProcess(args);
    await client(first.url).put('/v1/services/web/policy', { timeout: '2s' });
    const watcher = newWatcher(first.url, 'web');
    t.after(() => watcher.close());
    const known = nextChange(watcher);
    watcher.start();
    await known;

    await first.stop();
    const [error] = (await once(watcher, 'unreachable')) as [RegistryClientError, number];
    assert.ok(error.transient, error.code);
    assert.deepEqual(watcher.policy, { timeout: '2s' });
    const reconnected = nextEvent(watcher, 'reconnected');
    const second = await startServerProcess(args);
    t.after(() => second.stop());
    await reconnected;
    await blockedQueriesReach(second.url, 1);
    const changed = nextChange(watcher);
    await client(second.url).put('/v1/services/web/policy', { timeout: '3s' });

    assert.deepEqual((await changed).policy, { timeout: '3s' });
  });
});
