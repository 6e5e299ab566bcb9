import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { InstanceRecord } from '../../../server/registry/instance-record.js';
import { planCopy } from '../../../server/store-copy/copy-plan.js';
import { encodeInstance, encodePolicy, encodeToken } from '../../../server/store/etcd/records.js';
import type { KeyValue } from '../../../server/store/etcd/types.js';
import type { PolicyRecord, TokenRecord } from '../../../server/store/store.js';

const NOW = 1_000_000;
const prefix = '/p/';

function instance(overrides: Partial<InstanceRecord> = {}): InstanceRecord {
  return {
    service: 'web', id: 'w1', address: '10.0.0.1', port: 80, weight: 1, tags: ['v1'], meta: { a: 'b' }, ttlMs: 10_000, deregisterAfterMs: 60_000,
    checkStatus: 'passing', output: '', maintenance: false, maintenanceReason: null, expired: false, criticalSince: null, registeredAt: 1_000, lastHeartbeatAt: 2_000,
    ...overrides,
  };
}

const token: TokenRecord = { id: 't1', secretHash: Buffer.alloc(32, 7), kind: 'read', services: [], description: 'd', createdAt: 5 };

const policy: PolicyRecord = { service: 'web', policy: { balancing: 'random', split: [{ tag: 'v1', weight: 1 }] }, updatedAt: 6 };

function held(key: string, value: string, modRevision: number): KeyValue {
  return { key, value: Buffer.from(value), modRevision, createRevision: modRevision, lease: undefined };
}

describe('planCopy', () => {
  it('writes what etcd lacks, touching the service and the catalog; a live instance arrives as if it had just heartbeated', () => {
    const plan = planCopy({ instances: [instance()], tokens: [token], policies: [policy] }, [], { prefix, now: NOW, overwrite: false });

    assert.deepEqual(plan.missing, ['/p/instances/web/w1', '/p/policies/web', '/p/tokens/t1']);
    assert.deepEqual(plan.writes.map((write) => [write.key, write.expectedRevision, [...write.touched]]), [
      ['/p/instances/web/w1', 0, ['web', '*']],
      ['/p/policies/web', 0, ['policy/web', 'policy/*']],
      ['/p/tokens/t1', 0, []],
    ]);
    assert.deepEqual(JSON.parse(plan.writes[1]!.value), policy);
    assert.equal(JSON.parse(plan.writes[0]!.value).lastHeartbeatAt, NOW);
  });

  it('an expired instance keeps its last heartbeat: it stays critical with its removal deadline', () => {
    const plan = planCopy({ instances: [instance({ expired: true, criticalSince: 12_000 })], tokens: [], policies: [] }, [], { prefix, now: NOW, overwrite: false });

    assert.equal(JSON.parse(plan.writes[0]!.value).lastHeartbeatAt, 2_000);
  });

  it('a record etcd holds the same, but for its last heartbeat, is already there and not written', () => {
    const existing = [held('/p/instances/web/w1', encodeInstance(instance({ lastHeartbeatAt: 999 })), 7), held('/p/tokens/t1', encodeToken(token), 8), held('/p/policies/web', encodePolicy(policy), 9)];

    const plan = planCopy({ instances: [instance()], tokens: [token], policies: [policy] }, existing, { prefix, now: NOW, overwrite: false });

    assert.deepEqual(plan.alreadyThere, ['/p/instances/web/w1', '/p/policies/web', '/p/tokens/t1']);
    assert.deepEqual(plan.writes, []);
  });

  it('a record etcd holds differently is reported, and written over its revision only with overwrite', () => {
    const existing = [held('/p/instances/web/w1', encodeInstance(instance({ port: 81 })), 7), held('/p/tokens/t1', encodeToken({ ...token, description: 'other' }), 8)];
    const source = { instances: [instance()], tokens: [token], policies: [] };

    const kept = planCopy(source, existing, { prefix, now: NOW, overwrite: false });
    const replaced = planCopy(source, existing, { prefix, now: NOW, overwrite: true });

    assert.deepEqual(kept.different, ['/p/instances/web/w1', '/p/tokens/t1']);
    assert.deepEqual(kept.writes, []);
    // A port change is visible in the service, not in the catalog's counts or tags.
    assert.deepEqual(replaced.writes.map((write) => [write.key, write.expectedRevision, [...write.touched]]), [
      ['/p/instances/web/w1', 7, ['web']],
      ['/p/tokens/t1', 8, []],
    ]);
  });
});
