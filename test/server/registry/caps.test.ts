import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { RegistryError } from '../../../server/registry/errors.js';
import { registration, registryWithClock } from '../../support/registry.js';

describe('instance caps', () => {
  it('refuses a new instance past the per-service cap, naming the service and the flag', async () => {
    const { registry } = registryWithClock(':memory:', { caps: { instances: 100, instancesPerService: 2 } });
    await registry.register('web', 'w1', registration());
    await registry.register('web', 'w2', registration());

    await assert.rejects(
      async () => registry.register('web', 'w3', registration()),
      (error: RegistryError) =>
        error.code === 'instance_cap' &&
        error.message === 'cannot register web/w3: service web already has 2 instances, the most one service may have (--max-instances-per-service)',
    );
    assert.equal(registry.listInstances('web').length, 2, 'nothing changed');
  });

  it('refuses a new instance past the total cap', async () => {
    const { registry } = registryWithClock(':memory:', { caps: { instances: 2, instancesPerService: 100 } });
    await registry.register('a', 'a1', registration());
    await registry.register('b', 'b1', registration());

    await assert.rejects(async () => registry.register('c', 'c1', registration()), /the registry already holds 2 instances, its cap \(--max-instances\)/);
  });

  it('re-registering an existing instance at the cap is fine, and a deregistration frees a place', async () => {
    const { registry } = registryWithClock(':memory:', { caps: { instances: 2, instancesPerService: 2 } });
    await registry.register('web', 'w1', registration());
    await registry.register('web', 'w2', registration());

    await registry.register('web', 'w2', registration({ port: 9090 }));
    await registry.deregister('web', 'w1');
    await registry.register('web', 'w3', registration());

    assert.deepEqual(registry.listInstances('web').map((instance) => instance.id), ['w2', 'w3']);
  });
});
