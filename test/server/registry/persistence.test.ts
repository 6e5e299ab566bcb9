import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { ManualClock } from '../../../contract/clock.js';
import { Registry } from '../../../server/registry/registry.js';
import { SqliteStore } from '../../../server/store/sqlite/sqlite-store.js';
import { registration } from '../../support/registry.js';
import { tempDir } from '../../support/temp.js';

/** What survives a restart of the registry on the same database file. */
describe('registry persistence', () => {
  function open(path: string, clock: ManualClock) {
    const store = new SqliteStore({ path });
    return { store, registry: new Registry({ store, clock }) };
  }

  test('after a restart every instance gets one full TTL before it can expire', async (t) => {
    const path = join(tempDir(t), 'beacon.db');
    const clock = new ManualClock();
    const first = open(path, clock);
    await first.registry.register('web', 'w1', registration({ ttl: 2 }));
    first.store.close();

    clock.advance(10_000); // the registry was down far longer than the TTL
    const second = open(path, clock);
    t.after(() => second.store.close());
    await second.registry.sweep();
    assert.equal(second.registry.getInstance('web', 'w1').status, 'passing');
    clock.advance(1_999);
    await second.registry.sweep();
    assert.equal(second.registry.getInstance('web', 'w1').status, 'passing');
    clock.advance(1);
    await second.registry.sweep();
    assert.equal(second.registry.getInstance('web', 'w1').status, 'critical');
  });

  test('an instance already critical stays critical and keeps its removal deadline', async (t) => {
    const path = join(tempDir(t), 'beacon.db');
    const clock = new ManualClock();
    const first = open(path, clock);
    await first.registry.register('web', 'w1', registration({ ttl: 1, deregisterAfter: 10 }));
    clock.advance(1_000);
    await first.registry.sweep();
    first.store.close();

    clock.advance(5_000);
    const second = open(path, clock);
    t.after(() => second.store.close());
    assert.equal(second.registry.getInstance('web', 'w1').status, 'critical');
    clock.advance(5_000);
    assert.equal((await second.registry.sweep()).removed, 1);
  });

  test('status, maintenance and registration fields survive a restart', async (t) => {
    const path = join(tempDir(t), 'beacon.db');
    const clock = new ManualClock();
    const first = open(path, clock);
    await first.registry.register('web', 'w1', registration({ tags: ['blue'], meta: { zone: 'a' }, weight: 7 }));
    await first.registry.register('web', 'w2', registration());
    await first.registry.heartbeat('web', 'w1', { status: 'warning', output: 'slow' });
    await first.registry.setMaintenance('web', 'w2', { enabled: true, reason: 'patching' });
    const before = first.registry.listInstances('web');
    first.store.close();

    const second = open(path, clock);
    t.after(() => second.store.close());
    const after = second.registry.listInstances('web');
    assert.deepEqual(
      after.map(({ expiresAt: _e, ...rest }) => rest),
      before.map(({ expiresAt: _e, ...rest }) => rest),
    );
  });

  test('change indexes continue above where the previous process stopped', async (t) => {
    const path = join(tempDir(t), 'beacon.db');
    const clock = new ManualClock();
    const first = open(path, clock);
    await first.registry.register('web', 'w1', registration());
    await first.registry.register('db', 'd1', registration());
    const last = Math.max(first.registry.serviceIndex('web'), first.registry.catalogIndex());
    first.store.close();

    const second = open(path, clock);
    t.after(() => second.store.close());
    assert.ok(second.registry.serviceIndex('web') >= last);
    await second.registry.register('web', 'w2', registration());
    assert.ok(second.registry.serviceIndex('web') > last);
  });

  test('plain heartbeats reach the database only through flushLiveness, in chunks', async (t) => {
    const path = join(tempDir(t), 'beacon.db');
    const clock = new ManualClock();
    const { store, registry } = open(path, clock);
    t.after(() => store.close());
    for (let i = 0; i < 10; i++) await registry.register('web', `w${i}`, registration());
    clock.advance(3_000);
    for (let i = 0; i < 10; i++) await registry.heartbeat('web', `w${i}`, { output: `beat ${i}` });

    const stored = () => store.load().instances.filter((row) => row.lastHeartbeatAt === clock.now()).length;
    assert.equal(stored(), 0, 'a plain heartbeat is not written synchronously');
    assert.equal(registry.pendingLiveness, 10);
    assert.equal(registry.flushLiveness(4), 4);
    assert.equal(stored(), 4);
    assert.equal(registry.flushLiveness(4), 4);
    assert.equal(registry.flushLiveness(4), 2);
    assert.equal(registry.flushLiveness(4), 0);
    assert.equal(stored(), 10);
    assert.equal(store.load().instances.find((row) => row.id === 'w3')?.output, 'beat 3');
  });

  test('a re-registration writes its pending heartbeat time at once and leaves the rest to the flush', async (t) => {
    const path = join(tempDir(t), 'beacon.db');
    const clock = new ManualClock();
    const { store, registry } = open(path, clock);
    t.after(() => store.close());
    for (let i = 0; i < 6; i++) await registry.register('web', `w${i}`, registration());
    clock.advance(1_000);
    for (let i = 0; i < 6; i++) await registry.heartbeat('web', `w${i}`, {});
    for (let i = 0; i < 3; i++) await registry.register('web', `w${i}`, registration({ port: 9000 })); // written whole
    assert.equal(registry.pendingLiveness, 3, 'the re-registered instances left the backlog');
    assert.equal(registry.flushLiveness(3), 3);
    assert.equal(registry.pendingLiveness, 0);
    assert.deepEqual(
      store.load().instances.map((row) => row.lastHeartbeatAt === clock.now()),
      [true, true, true, true, true, true],
    );
  });

  test('a status change is written before it is acknowledged', async (t) => {
    const path = join(tempDir(t), 'beacon.db');
    const clock = new ManualClock();
    const { store, registry } = open(path, clock);
    t.after(() => store.close());
    await registry.register('web', 'w1', registration());
    await registry.heartbeat('web', 'w1', { status: 'warning' });
    assert.equal(store.load().instances[0]?.checkStatus, 'warning');
    await registry.deregister('web', 'w1');
    assert.deepEqual(store.load().instances, []);
  });

  test('a failed write changes nothing in memory', async (t) => {
    const path = join(tempDir(t), 'beacon.db');
    const clock = new ManualClock();
    const { store, registry } = open(path, clock);
    await registry.register('web', 'w1', registration());
    const index = registry.serviceIndex('web');
    store.close(); // every write now fails
    await assert.rejects(async () => registry.register('web', 'w2', registration()), { code: 'storage_failed' });
    await assert.rejects(async () => registry.deregister('web', 'w1'), { code: 'storage_failed' });
    assert.deepEqual(registry.listInstances('web').map((i) => i.id), ['w1']);
    assert.equal(registry.serviceIndex('web'), index);
    t.after(() => store.close());
  });
});
