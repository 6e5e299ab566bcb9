import { ManualClock } from '../../contract/clock.js';
import { Registry, type RegistryOptions } from '../../server/registry/registry.js';
import { InstanceRegistration } from '../../contract/instance.js';
import { SqliteStore } from '../../server/store/sqlite/sqlite-store.js';

/** A registry on a real (in-memory or file) SQLite store, driven by a manual clock. */
export function registryWithClock(path = ':memory:', options: Partial<RegistryOptions> = {}) {
  const clock = new ManualClock();
  const store = new SqliteStore({ path });
  const registry = new Registry({ store, clock, ...options });
  return { clock, store, registry };
}

/** A registration with defaults filled in as the HTTP layer would. */
export function registration(overrides: Partial<Record<string, unknown>> = {}): InstanceRegistration {
  return InstanceRegistration.parse({ address: '10.0.0.1', port: 8080, ...overrides });
}
