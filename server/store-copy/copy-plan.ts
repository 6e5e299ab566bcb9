import { isDeepStrictEqual } from 'node:util';
import type { InstanceRecord } from '../registry/instance-record.js';
import { addTouched } from '../registry/registry.js';
import { ALL_POLICIES, policyKey } from '../registry/traffic-policies.js';
import { decodeInstance, decodePolicy, decodeToken, encodeInstance, encodePolicy, encodeToken, keyOf } from '../store/etcd/records.js';
import type { KeyValue } from '../store/etcd/types.js';
import type { SqliteSnapshot } from '../store/sqlite/sqlite-snapshot.js';

/** One key to write, made from the file's record. */
export interface CopyWrite {
  key: string;
  value: string;
  /** The key's mod_revision when etcd was read (0: absent): the write happens only if it still is. */
  expectedRevision: number;
  /** The change-index keys (services, `*`) the write visibly changes, touched in the same transaction. */
  touched: ReadonlySet<string>;
}

/** What copying the file into etcd means, key by key, before anything is written. */
export interface CopyPlan {
  /** The keys etcd does not have, and (with overwrite) the ones it holds differently. */
  writes: CopyWrite[];
  /** Keys etcd does not have yet. */
  missing: string[];
  /** Keys etcd holds with the same record already. */
  alreadyThere: string[];
  /** Keys etcd holds with another record. */
  different: string[];
}

export interface PlanOptions {
  prefix: string;
  /** When the copy runs: copied instances get their restart grace from it. */
  now: number;
  /** Replace the records etcd holds differently (otherwise they are only reported). */
  overwrite: boolean;
}

/**
 * Compares the file with what etcd holds under the prefix. Instances, policies and tokens are compared
 * whole, except an instance's last heartbeat: the copy sets it to `now` (see arrived), so the
 * second copy of the same file finds every record already there and writes nothing.
 */
export function planCopy(source: SqliteSnapshot, existing: readonly KeyValue[], options: PlanOptions): CopyPlan {
  const held = new Map(existing.map((kv) => [kv.key, kv]));
  const plan: CopyPlan = { writes: [], missing: [], alreadyThere: [], different: [] };
  const consider = (key: string, value: string, same: (kv: KeyValue) => boolean, touched: (kv: KeyValue | undefined) => Set<string>) => {
    const kv = held.get(key);
    if (kv && same(kv)) return void plan.alreadyThere.push(key);
    (kv ? plan.different : plan.missing).push(key);
    if (kv && !options.overwrite) return;
    plan.writes.push({ key, value, expectedRevision: kv?.modRevision ?? 0, touched: touched(kv) });
  };
  for (const record of source.instances) {
    const copied = arrived(record, options.now);
    consider(
      keyOf.instance(options.prefix, record.service, record.id),
      encodeInstance(copied),
      (kv) => isDeepStrictEqual(withoutHeartbeat(decodeInstance(kv.value)), withoutHeartbeat(copied)),
      (kv) => {
        const touched = new Set<string>();
        addTouched(touched, kv && decodeInstance(kv.value), copied);
        return touched;
      },
    );
  }
  for (const policy of source.policies) {
    consider(
      keyOf.policy(options.prefix, policy.service),
      encodePolicy(policy),
      (kv) => isDeepStrictEqual(decodePolicy(kv.value), policy),
      () => new Set([policyKey(policy.service), ALL_POLICIES]),
    );
  }
  for (const token of source.tokens) {
    consider(keyOf.token(options.prefix, token.id), encodeToken(token), (kv) => isDeepStrictEqual(decodeToken(kv.value), token), () => new Set());
  }
  return plan;
}

/**
 * The instance as it arrives in the cluster. A node grants every instance it loads a full TTL
 * (the restart grace), but a node already running applies a copied record by its last
 * heartbeat: so a live instance is copied as if it had just heartbeated, and gets one TTL from
 * the copy to heartbeat at a node. An expired one stays as it was: critical, with its removal
 * deadline.
 */
function arrived(record: InstanceRecord, now: number): InstanceRecord {
  return record.expired ? record : { ...record, lastHeartbeatAt: Math.max(record.lastHeartbeatAt, now) };
}

function withoutHeartbeat(record: InstanceRecord): Omit<InstanceRecord, 'lastHeartbeatAt'> {
  const { lastHeartbeatAt: _lastHeartbeatAt, ...rest } = record;
  return rest;
}
