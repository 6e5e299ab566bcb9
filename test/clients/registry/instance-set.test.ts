import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { sameInstances } from '../../../clients/registry/instance-set.js';
import type { Instance } from '../../../contract/instance.js';

const instance = (overrides: Partial<Instance> = {}): Instance => ({
  service: 'web',
  id: 'w1',
  address: '10.0.0.1',
  port: 8080,
  weight: 1,
  tags: [],
  meta: {},
  ttl: 15,
  deregisterAfter: 300,
  status: 'passing',
  output: '',
  maintenanceReason: null,
  registeredAt: '2026-01-01T00:00:00.000Z',
  lastHeartbeatAt: '2026-01-01T00:00:00.000Z',
  expiresAt: '2026-01-01T00:00:15.000Z',
  ...overrides,
});

describe('sameInstances', () => {
  test('heartbeat times, output and a same-field re-registration are not changes', () => {
    const later = { lastHeartbeatAt: '2026-01-01T00:00:05.000Z', expiresAt: '2026-01-01T00:00:20.000Z', output: 'ok', registeredAt: '2026-01-01T00:00:04.000Z' };
    assert.equal(sameInstances([instance()], [instance(later)]), true);
  });

  test('meta in another key order is the same meta', () => {
    assert.equal(sameInstances([instance({ meta: { a: '1', b: '2' } })], [instance({ meta: { b: '2', a: '1' } })]), true);
  });

  test('a status, address, port, weight or tag change is a change', () => {
    for (const change of [{ status: 'warning' }, { address: '10.0.0.2' }, { port: 8081 }, { weight: 2 }, { tags: ['blue'] }] satisfies Partial<Instance>[]) {
      assert.equal(sameInstances([instance()], [instance(change)]), false, JSON.stringify(change));
    }
  });

  test('an instance added, removed or replaced by another id is a change', () => {
    assert.equal(sameInstances([instance()], [instance(), instance({ id: 'w2' })]), false);
    assert.equal(sameInstances([instance(), instance({ id: 'w2' })], [instance()]), false);
    assert.equal(sameInstances([instance()], [instance({ id: 'w2' })]), false);
  });
});
