import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { registration, registryWithClock } from '../../support/registry.js';

/** The health state machine, driven by a manual clock (no sleeping). */
describe('health state machine', () => {
  test('a registered instance is passing until its TTL runs out, then critical', async () => {
    const { clock, registry } = registryWithClock();
    await registry.register('web', 'w1', registration({ ttl: 10 }));

    clock.advance(9_999);
    await registry.sweep();
    assert.equal(registry.getInstance('web', 'w1').status, 'passing');

    clock.advance(1);
    assert.deepEqual(await registry.sweep(), { expired: 1, removed: 0, withheld: 0, more: false });
    assert.equal(registry.getInstance('web', 'w1').status, 'critical');
  });

  test('a heartbeat pushes the expiry a full TTL past itself', async () => {
    const { clock, registry } = registryWithClock();
    await registry.register('web', 'w1', registration({ ttl: 10 }));
    clock.advance(8_000);
    const renewed = await registry.heartbeat('web', 'w1', {});
    assert.equal(Date.parse(renewed.expiresAt), clock.now() + 10_000);

    clock.advance(9_000);
    await registry.sweep();
    assert.equal(registry.getInstance('web', 'w1').status, 'passing');
    clock.advance(1_000);
    await registry.sweep();
    assert.equal(registry.getInstance('web', 'w1').status, 'critical');
  });

  test('a heartbeat may report warning or critical, and a bare heartbeat means passing again', async () => {
    const { registry } = registryWithClock();
    await registry.register('web', 'w1', registration());
    assert.equal((await registry.heartbeat('web', 'w1', { status: 'warning', output: 'disk 91%' })).status, 'warning');
    assert.equal(registry.getInstance('web', 'w1').output, 'disk 91%');
    assert.equal((await registry.heartbeat('web', 'w1', { status: 'critical' })).status, 'critical');
    const back = await registry.heartbeat('web', 'w1', {});
    assert.equal(back.status, 'passing');
    assert.equal(back.output, '');
  });

  test('a heartbeat revives an expired instance', async () => {
    const { clock, registry } = registryWithClock();
    await registry.register('web', 'w1', registration({ ttl: 1 }));
    clock.advance(1_000);
    await registry.sweep();
    assert.equal(registry.getInstance('web', 'w1').status, 'critical');
    assert.equal((await registry.heartbeat('web', 'w1', {})).status, 'passing');
  });

  test('only a known, unexpired, passing instance renews in memory on a bare heartbeat; the others are left untouched', async () => {
    const { clock, registry } = registryWithClock();
    await registry.register('web', 'passing', registration({ ttl: 10 }));
    await registry.register('web', 'warning', registration({ ttl: 10 }));
    await registry.register('web', 'expired', registration({ ttl: 1 }));
    await registry.heartbeat('web', 'warning', { status: 'warning', output: 'disk 91%' });
    clock.advance(1_000);
    await registry.sweep();
    const refusedBefore = ['warning', 'expired'].map((id) => registry.getInstance('web', id));
    clock.advance(500);

    const renewed = ['passing', 'warning', 'expired', 'unknown'].map((id) => registry.renewInMemory('web', id)?.lastHeartbeatAt);

    assert.deepEqual(renewed, [clock.now(), undefined, undefined, undefined]);
    assert.equal(registry.getInstance('web', 'passing').expiresAt, new Date(clock.now() + 10_000).toISOString());
    assert.deepEqual(['warning', 'expired'].map((id) => registry.getInstance('web', id)), refusedBefore);
  });

  test('an instance critical for deregisterAfter is removed, counted from when it turned critical', async () => {
    const { clock, registry } = registryWithClock();
    await registry.register('web', 'w1', registration({ ttl: 10, deregisterAfter: 30 }));
    clock.advance(10_000); // expires now: critical since t=10s
    await registry.sweep();
    clock.advance(29_999);
    await registry.sweep();
    assert.equal(registry.listInstances('web').length, 1);
    clock.advance(1);
    assert.deepEqual(await registry.sweep(), { expired: 0, removed: 1, withheld: 0, more: false });
    assert.deepEqual(registry.listInstances('web'), []);
    assert.deepEqual(registry.listServices(), []);
  });

  test('a reported critical status starts the deregisterAfter clock even while heartbeats continue', async () => {
    const { clock, registry } = registryWithClock();
    await registry.register('web', 'w1', registration({ ttl: 10, deregisterAfter: 20 }));
    await registry.heartbeat('web', 'w1', { status: 'critical' });
    clock.advance(9_000);
    await registry.heartbeat('web', 'w1', { status: 'critical' });
    clock.advance(9_000);
    await registry.heartbeat('web', 'w1', { status: 'critical' });
    clock.advance(2_000);
    assert.equal((await registry.sweep()).removed, 1);
  });

  test('recovering from critical resets the removal clock', async () => {
    const { clock, registry } = registryWithClock();
    await registry.register('web', 'w1', registration({ ttl: 100, deregisterAfter: 20 }));
    await registry.heartbeat('web', 'w1', { status: 'critical' });
    clock.advance(15_000);
    await registry.heartbeat('web', 'w1', {});
    clock.advance(10_000);
    await registry.heartbeat('web', 'w1', { status: 'critical' });
    clock.advance(15_000);
    assert.equal((await registry.sweep()).removed, 0);
    assert.equal(registry.getInstance('web', 'w1').status, 'critical');
  });

  test('maintenance hides the health underneath and survives re-registration', async () => {
    const { registry } = registryWithClock();
    await registry.register('web', 'w1', registration());
    const held = await registry.setMaintenance('web', 'w1', { enabled: true, reason: 'kernel upgrade' });
    assert.equal(held.status, 'maintenance');
    assert.equal(held.maintenanceReason, 'kernel upgrade');

    await registry.register('web', 'w1', registration({ port: 9090 }));
    assert.equal(registry.getInstance('web', 'w1').status, 'maintenance');

    const released = await registry.setMaintenance('web', 'w1', { enabled: false });
    assert.equal(released.status, 'passing');
    assert.equal(released.maintenanceReason, null);
  });

  test('an instance in maintenance still expires and is removed when it stops heartbeating', async () => {
    const { clock, registry } = registryWithClock();
    await registry.register('web', 'w1', registration({ ttl: 5, deregisterAfter: 5 }));
    await registry.setMaintenance('web', 'w1', { enabled: true });
    clock.advance(5_000);
    assert.equal((await registry.sweep()).expired, 1);
    assert.equal(registry.getInstance('web', 'w1').status, 'maintenance');
    clock.advance(5_000);
    assert.equal((await registry.sweep()).removed, 1);
  });

  test('a re-registration answers created once, replaced after, and resets health', async () => {
    const { clock, registry } = registryWithClock();
    assert.equal((await registry.register('web', 'w1', registration())).created, true);
    await registry.heartbeat('web', 'w1', { status: 'warning' });
    clock.advance(1_000);
    const replaced = await registry.register('web', 'w1', registration({ weight: 5 }));
    assert.equal(replaced.created, false);
    assert.equal(replaced.instance.status, 'passing');
    assert.equal(replaced.instance.weight, 5);
  });

  test('a sweep applies at most its limit and reports that more is due', async () => {
    const { clock, registry } = registryWithClock();
    for (let i = 0; i < 5; i++) await registry.register('web', `w${i}`, registration({ ttl: 1 }));
    clock.advance(1_000);
    assert.deepEqual(await registry.sweep(3), { expired: 3, removed: 0, withheld: 0, more: true });
    assert.deepEqual(await registry.sweep(3), { expired: 2, removed: 0, withheld: 0, more: false });
    assert.equal(registry.countByStatus().critical, 5);
  });

  test('filters by status and tags, sorted by id', async () => {
    const { registry } = registryWithClock();
    await registry.register('web', 'b', registration({ tags: ['blue', 'eu'] }));
    await registry.register('web', 'a', registration({ tags: ['blue'] }));
    await registry.register('web', 'c', registration({ tags: ['green'] }));
    await registry.heartbeat('web', 'c', { status: 'warning' });
    await registry.setMaintenance('web', 'a', { enabled: true });

    const ids = (filter: Parameters<typeof registry.listInstances>[1]) => registry.listInstances('web', filter).map((i) => i.id);
    assert.deepEqual(ids({}), ['a', 'b', 'c']);
    assert.deepEqual(ids({ statuses: new Set(['passing', 'warning']) }), ['b', 'c']);
    assert.deepEqual(ids({ tags: ['blue'] }), ['a', 'b']);
    assert.deepEqual(ids({ tags: ['blue', 'eu'] }), ['b']);
    assert.deepEqual(registry.listServices(), [
      { name: 'web', instances: 3, passing: 1, warning: 1, critical: 0, maintenance: 1 },
    ]);
  });

  test('operations on an unknown instance fail with instance_not_found', async () => {
    const { registry } = registryWithClock();
    for (const operation of [
      () => registry.heartbeat('web', 'nope', {}),
      () => registry.setMaintenance('web', 'nope', { enabled: true }),
      () => registry.deregister('web', 'nope'),
    ]) {
      await assert.rejects(operation, { code: 'instance_not_found', message: 'instance web/nope is not registered' });
    }
  });
});
