import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ChangeIndex } from '../../../server/registry/change-index.js';
import { registration, registryWithClock } from '../../support/registry.js';

describe('change indexes', () => {
  test("a service's index moves on visible changes only, not on plain heartbeats", () => {
    const { clock, registry } = registryWithClock();
    registry.register('web', 'w1', registration());
    const afterRegister = registry.serviceIndex('web');

    clock.advance(1_000);
    registry.heartbeat('web', 'w1', {});
    registry.heartbeat('web', 'w1', { output: 'load 0.3' });
    assert.equal(registry.serviceIndex('web'), afterRegister);

    registry.heartbeat('web', 'w1', { status: 'warning' });
    assert.ok(registry.serviceIndex('web') > afterRegister);
  });

  test("one service's changes leave another service's index alone", () => {
    const { registry } = registryWithClock();
    registry.register('web', 'w1', registration());
    registry.register('db', 'd1', registration());
    const web = registry.serviceIndex('web');
    registry.register('db', 'd2', registration());
    registry.deregister('db', 'd1');
    assert.equal(registry.serviceIndex('web'), web);
  });

  test('the catalog index moves when a service appears, disappears or a status count changes, not on field edits', () => {
    const { registry } = registryWithClock();
    const start = registry.catalogIndex();
    registry.register('web', 'w1', registration());
    const registered = registry.catalogIndex();
    assert.ok(registered > start);

    registry.register('web', 'w1', registration({ port: 9999 }));
    assert.equal(registry.catalogIndex(), registered);

    registry.setMaintenance('web', 'w1', { enabled: true });
    assert.ok(registry.catalogIndex() > registered);
  });

  test('an identical re-registration is written but moves no index', () => {
    const { registry } = registryWithClock();
    registry.register('web', 'w1', registration({ tags: ['a'] }));
    const before = [registry.serviceIndex('web'), registry.catalogIndex()];
    registry.register('web', 'w1', registration({ tags: ['a'] }));
    assert.deepEqual([registry.serviceIndex('web'), registry.catalogIndex()], before);
  });

  test('a waiter is released by the change itself', async () => {
    const index = new ChangeIndex(1, 10);
    const waiting = index.wait('web', 1, 60_000);
    assert.equal(index.waiterCount, 1);
    index.bump(['web'], 6);
    assert.equal(await waiting, 'changed');
    assert.equal(index.waiterCount, 0);
  });

  test('a waiter for another key stays blocked', async () => {
    const index = new ChangeIndex(1, 10);
    const waiting = index.wait('web', 1, 50);
    index.bump(['db'], 6);
    assert.equal(await waiting, 'timeout');
  });

  test('an aborted waiter is freed at once', async () => {
    const index = new ChangeIndex(1, 10);
    const controller = new AbortController();
    const waiting = index.wait('web', 1, 60_000, controller.signal);
    controller.abort();
    assert.equal(await waiting, 'released');
    assert.equal(index.waiterCount, 0);
  });

  test('waiters are bounded', async () => {
    const index = new ChangeIndex(1, 2);
    const first = index.wait('a', 1, 60_000);
    const second = index.wait('b', 1, 60_000);
    assert.throws(() => index.wait('c', 1, 60_000), { code: 'too_many_waiters' });
    index.releaseAll();
    assert.deepEqual(await Promise.all([first, second]), ['released', 'released']);
    assert.equal(await index.wait('d', 1, 60_000), 'released', 'after releaseAll nothing blocks');
  });

  test('a waiter behind the current index returns at once', async () => {
    const index = new ChangeIndex(5, 10);
    index.bump(['web'], 6);
    assert.equal(await index.wait('web', 3, 60_000), 'changed');
    assert.equal(index.waiterCount, 0);
  });
});
