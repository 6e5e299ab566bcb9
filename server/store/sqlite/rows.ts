import type { TrafficPolicy } from '../../../contract/traffic-policy.js';
import type { InstanceRecord } from '../../registry/instance-record.js';
import type { PolicyRecord, TokenRecord } from '../store.js';

/**
 * The rows of the SQLite registry and the records they hold, both ways: for the store, and for
 * `beacon store copy`, which reads a registry file without opening it as a store.
 */
export interface InstanceRow {
  service: string;
  id: string;
  address: string;
  port: number;
  weight: number;
  tags: string;
  meta: string;
  ttl_ms: number;
  deregister_after_ms: number;
  check_status: InstanceRecord['checkStatus'];
  output: string;
  maintenance: number;
  maintenance_reason: string | null;
  expired: number;
  critical_since: number | null;
  registered_at: number;
  last_heartbeat_at: number;
}

export interface TokenRow {
  id: string;
  secret_hash: Buffer;
  kind: TokenRecord['kind'];
  services: string;
  description: string;
  created_at: number;
}

export function toRow(instance: InstanceRecord): InstanceRow {
  return {
    service: instance.service,
    id: instance.id,
    address: instance.address,
    port: instance.port,
    weight: instance.weight,
    tags: JSON.stringify(instance.tags),
    meta: JSON.stringify(instance.meta),
    ttl_ms: instance.ttlMs,
    deregister_after_ms: instance.deregisterAfterMs,
    check_status: instance.checkStatus,
    output: instance.output,
    maintenance: instance.maintenance ? 1 : 0,
    maintenance_reason: instance.maintenanceReason,
    expired: instance.expired ? 1 : 0,
    critical_since: instance.criticalSince,
    registered_at: instance.registeredAt,
    last_heartbeat_at: instance.lastHeartbeatAt,
  };
}

export function fromRow(row: InstanceRow): InstanceRecord {
  return {
    service: row.service,
    id: row.id,
    address: row.address,
    port: row.port,
    weight: row.weight,
    tags: JSON.parse(row.tags) as string[],
    meta: JSON.parse(row.meta) as Record<string, string>,
    ttlMs: row.ttl_ms,
    deregisterAfterMs: row.deregister_after_ms,
    checkStatus: row.check_status,
    output: row.output,
    maintenance: row.maintenance === 1,
    maintenanceReason: row.maintenance_reason,
    expired: row.expired === 1,
    criticalSince: row.critical_since,
    registeredAt: row.registered_at,
    lastHeartbeatAt: row.last_heartbeat_at,
  };
}

export function tokenToRow(token: TokenRecord): TokenRow {
  return {
    id: token.id,
    secret_hash: token.secretHash,
    kind: token.kind,
    services: JSON.stringify(token.services),
    description: token.description,
    created_at: token.createdAt,
  };
}

export function tokenFromRow(row: TokenRow): TokenRecord {
  return {
    id: row.id,
    secretHash: row.secret_hash,
    kind: row.kind,
    services: JSON.parse(row.services) as string[],
    description: row.description,
    createdAt: row.created_at,
  };
}

export interface PolicyRow {
  service: string;
  policy: string;
  updated_at: number;
}

export function policyToRow(record: PolicyRecord): PolicyRow {
  return { service: record.service, policy: JSON.stringify(record.policy), updated_at: record.updatedAt };
}

/** The policy was validated before it was written, so it is read back as it is. */
export function policyFromRow(row: PolicyRow): PolicyRecord {
  return { service: row.service, policy: JSON.parse(row.policy) as TrafficPolicy, updatedAt: row.updated_at };
}
