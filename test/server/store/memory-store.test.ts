import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ManualClock } from '../../../contract/clock.js';
import { Registry } from '../../../server/registry/registry.js';
import { MemoryStore } from '../../../server/store/memory/memory-store.js';
import { registration } from '../../support/registry.js';

test('a registry on a MemoryStore finds its instances again when a second registry loads the same store', () => {
  const store = new MemoryStore();
  const clock = new ManualClock();
  const first = new Registry({ store, clock });
  first.register('web', 'w1', registration({ port: 8081 }));
  first.register('web', 'w2', registration({ port: 8082 }));
  first.deregister('web', 'w2');

  const second = new Registry({ store, clock });
  assert.deepEqual(second.listInstances('web').map((instance) => [instance.id, instance.port]), [['w1', 8081]]);
});
