import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ManualClock } from '../../../contract/clock.js';
import { RegistryError } from '../../../server/registry/errors.js';
import { Registry } from '../../../server/registry/registry.js';
import { MemoryStore } from '../../../server/store/memory/memory-store.js';
import { registration } from '../../support/registry.js';

test('a write the store cannot make is one storage error whose message says so once, and nothing changes', async () => {
  const store = new MemoryStore();
  const registry = new Registry({ store, clock: new ManualClock() });
  store.commit = async () => {
    throw new Error('disk full');
  };

  const refused = await registry.register('web', 'w1', registration()).catch((error: unknown) => error);
  const policyRefused = await registry.policies.set('web', { balancing: 'random' }).catch((error: unknown) => error);

  for (const error of [refused, policyRefused]) {
    assert.ok(error instanceof RegistryError);
    assert.equal(error.code, 'storage_failed');
    assert.equal(error.message, 'the registry could not write to its database: disk full');
  }
  assert.deepEqual(registry.listInstances('web'), []);
  assert.equal(registry.policies.get('web'), undefined);
});
