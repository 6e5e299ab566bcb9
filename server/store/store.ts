import type { TrafficPolicy } from '../../contract/traffic-policy.js';
import type { InstanceRecord } from '../registry/instance-record.js';

/**
 * The registry's persistence boundary. The core keeps every instance in memory and calls the
 * store only to make changes durable and to load them at start, so a second backend (etcd,
 * say) is a new folder implementing this interface. It persists what the core defines
 * (InstanceRecord, in server/registry/instance-record.ts) and knows nothing of HTTP or DNS.
 *
 * Times are milliseconds since the Unix epoch.
 */

/** The liveness part of an instance: refreshed by every heartbeat, persisted lazily. */
export interface LivenessRecord {
  service: string;
  id: string;
  lastHeartbeatAt: number;
  output: string;
}

export interface StoredState {
  instances: StoredInstance[];
  /** The change index last handed out; the registry continues above it. */
  lastIndex: number;
  /**
   * The change index of each watched key (a service name, or `*` for the catalog) whose last
   * change the store can tell; keys not listed start at `lastIndex`. A replicated store gives
   * them so every node reports the same index for the same content.
   */
  keyIndexes?: ReadonlyMap<string, number>;
  /** Every service's traffic policy (none: no service has one). */
  policies?: StoredPolicy[];
}

/** An instance as a store holds it, with the store's version of it (0 where it keeps none). */
export interface StoredInstance extends InstanceRecord {
  /** The store's version of this record, compared on the next change (etcd's mod_revision). */
  version?: number;
}

/** A service's traffic policy as a store keeps it: the document as the user sent it. */
export interface PolicyRecord {
  service: string;
  policy: TrafficPolicy;
  updatedAt: number;
}

export interface StoredPolicy extends PolicyRecord {
  /** The store's version of this record, as for instances. */
  version?: number;
}

/**
 * A durable change. `expectedVersion` is the version of the record the change was made from
 * (0: it did not exist): a replicated store refuses the change if the record moved on since
 * (StoreConflict), so two nodes never both apply a change to the same record.
 */
export type StoreChange =
  | { kind: 'put'; instance: InstanceRecord; expectedVersion: number }
  | { kind: 'delete'; service: string; id: string; expectedVersion: number }
  | { kind: 'put-policy'; policy: PolicyRecord; expectedVersion: number }
  | { kind: 'delete-policy'; service: string; expectedVersion: number };

export interface CommitOptions {
  /** The change-index keys (services, `*`) whose visible content the changes alter. */
  touched: ReadonlySet<string>;
  /**
   * The change is this node's own decision (an expiry or a removal by the sweep): a replicated
   * store commits it only while this node's session in the cluster is alive.
   */
  asSessionHolder?: boolean;
}

/** Changes as committed, delivered in commit order to the registry (see Store.subscribe). */
export interface CommittedBatch {
  /** The change index of this commit: above every earlier one. */
  index: number;
  changes: readonly CommittedChange[];
}

export type CommittedChange =
  | { kind: 'put'; instance: StoredInstance }
  | { kind: 'delete'; service: string; id: string }
  | { kind: 'put-policy'; policy: StoredPolicy }
  | { kind: 'delete-policy'; service: string };

/** A compare failed: the record moved on since the change was made from it. Nothing was written. */
export class StoreConflict extends Error {
  override readonly name = 'StoreConflict';
}

/**
 * The registry's persistence boundary. The registry keeps every instance in memory and serves
 * all reads from it; the store makes changes durable and hands them back, in commit order, to
 * the one listener that applies them to memory. A local store (SQLite) hands a commit back at
 * once; a replicated one (etcd) hands back every node's commits as it learns of them, so the
 * registry has one way in for every change wherever it was made.
 */
export interface Store {
  load(): StoredState;
  /** Sets the listener every committed change is delivered to (the registry, once). */
  subscribe(listener: (batch: CommittedBatch) => void): void;
  /**
   * Makes the changes durable, atomically. Resolves once they are committed and delivered to
   * the listener; rejects with StoreConflict having written nothing, or with another error when
   * the change may not have been made (the client may safely send it again).
   */
  commit(changes: readonly StoreChange[], options: CommitOptions): Promise<void>;
  /** Best-effort liveness refresh (SQLite writes it; a cluster shares it with the other nodes). */
  saveLiveness(rows: readonly LivenessRecord[]): void;
  close(): void;
}

/** An ACL token as stored: never its secret, only the secret's SHA-256. */
export interface TokenRecord {
  id: string;
  secretHash: Buffer;
  kind: 'management' | 'service' | 'read';
  /** For `service` tokens: the services it may write. */
  services: string[];
  description: string;
  createdAt: number;
}

/** A token as committed, at this node or another: what keeps an Acl's index current. */
export type TokenChange = { kind: 'put'; token: TokenRecord } | { kind: 'delete'; id: string };

/**
 * Where ACL tokens live. Like instances, every change (this node's own included) reaches the
 * one listener through the store, in commit order: a local store (SQLite) hands it back at once,
 * a replicated one (etcd) as this node's watch applies it, at whichever node it was made.
 */
export interface TokenStore {
  /** The tokens as this node knows them now; changes after this go to the listener. */
  loadTokens(): TokenRecord[];
  /** Sets the listener every committed token change is delivered to (the Acl, once). */
  subscribeTokens(listener: (change: TokenChange) => void): void;
  /**
   * Inserts the token, or replaces the one with the same id. Resolves once it is durable and
   * delivered to the listener; rejects when it may not have been made (safe to send again).
   */
  putToken(token: TokenRecord): Promise<void>;
  /** True when a token was deleted; like putToken, resolves once the listener has the change. */
  deleteToken(id: string): Promise<boolean>;
}
