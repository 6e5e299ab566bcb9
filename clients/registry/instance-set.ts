import type { Instance } from '../../contract/instance.js';

/**
 * Whether two answers describe the same instance set for a caller that routes to them. The
 * fields compared are the ones that move the registry's index (docs/api.md, "What moves a
 * service's index"); `lastHeartbeatAt`, `expiresAt`, `output` and `registeredAt` change without
 * the index moving, and a balancer has nothing to do about them.
 */
export function sameInstances(a: readonly Instance[], b: readonly Instance[]): boolean {
  if (a.length !== b.length) return false;
  const keys = new Map(a.map((instance) => [instance.id, routingKey(instance)]));
  return b.every((instance) => keys.get(instance.id) === routingKey(instance));
}

function routingKey(instance: Instance): string {
  return JSON.stringify([
    instance.service,
    instance.address,
    instance.port,
    instance.weight,
    instance.tags,
    // Key order in `meta` is not meaning: sort it so equal maps compare equal.
    Object.entries(instance.meta).sort(([x], [y]) => (x < y ? -1 : x > y ? 1 : 0)),
    instance.ttl,
    instance.deregisterAfter,
    instance.status,
    instance.maintenanceReason,
  ]);
}
