import type { InstanceRecord } from './instance-record.js';
import type { HealthStatus, Instance } from '../../contract/instance.js';
import { isoTime } from './iso-time.js';

/**
 * The health model, as pure functions over an instance:
 *   passing/warning/critical as last reported by a heartbeat;
 *   critical once `ttl` passes without a heartbeat (expired);
 *   removed once critical for `deregisterAfter`;
 *   maintenance hides the instance whatever its health underneath.
 */
export interface LiveInstance extends InstanceRecord {
  /** The store's version of the record, compared on its next change (0 where the store keeps none). */
  version: number;
  /** When the instance turns critical without a heartbeat. Memory only: restarts grant a fresh TTL. */
  expiresAt: number;
  /** The deadline this object is queued under (Infinity: not queued). */
  scheduledAt: number;
}

export function isCritical(instance: InstanceRecord): boolean {
  return instance.expired || instance.checkStatus === 'critical';
}

export function statusOf(instance: InstanceRecord): HealthStatus {
  if (instance.maintenance) return 'maintenance';
  return instance.expired ? 'critical' : instance.checkStatus;
}

/** The next moment the instance's health changes on its own: expiry, or removal when critical. */
export function nextDeadline(instance: LiveInstance): number {
  if (isCritical(instance)) return (instance.criticalSince ?? 0) + instance.deregisterAfterMs;
  return instance.expiresAt;
}

/** A changed copy, not yet queued: every durable change makes a new object (see Registry.commit). */
export function revise(instance: LiveInstance, patch: Partial<LiveInstance>): LiveInstance {
  return { ...instance, ...patch, scheduledAt: Infinity };
}

/** Whether a change alters what a list of instances shows (and so moves its change index). */
export function visiblyDiffers(before: InstanceRecord | undefined, after: InstanceRecord | undefined): boolean {
  if (!before || !after) return before !== after;
  return (
    statusOf(before) !== statusOf(after) ||
    before.address !== after.address ||
    before.port !== after.port ||
    before.weight !== after.weight ||
    before.ttlMs !== after.ttlMs ||
    before.deregisterAfterMs !== after.deregisterAfterMs ||
    before.maintenanceReason !== after.maintenanceReason ||
    JSON.stringify(before.tags) !== JSON.stringify(after.tags) ||
    JSON.stringify(before.meta) !== JSON.stringify(after.meta)
  );
}

export function toView(instance: LiveInstance): Instance {
  return {
    service: instance.service,
    id: instance.id,
    address: instance.address,
    port: instance.port,
    weight: instance.weight,
    tags: instance.tags,
    meta: instance.meta,
    ttl: instance.ttlMs / 1000,
    deregisterAfter: instance.deregisterAfterMs / 1000,
    status: statusOf(instance),
    output: instance.output,
    maintenanceReason: instance.maintenanceReason,
    registeredAt: isoTime(instance.registeredAt),
    lastHeartbeatAt: isoTime(instance.lastHeartbeatAt),
    expiresAt: isoTime(instance.expiresAt),
  };
}
