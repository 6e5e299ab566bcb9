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
  instances: InstanceRecord[];
  /** The change index last handed out; the registry continues above it. */
  lastIndex: number;
}

/** A durable change: when a method returns, the change survives a crash of the process. */
export type StoreChange =
  | { kind: 'put'; instance: InstanceRecord }
  | { kind: 'delete'; service: string; id: string };

export interface Store {
  load(): StoredState;
  /** Applies the changes atomically together with the new change index. */
  apply(changes: readonly StoreChange[], lastIndex: number): void;
  /** Best-effort liveness refresh; rows whose instance is gone are skipped. */
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

/** Where ACL tokens live; every method is durable when it returns. */
export interface TokenStore {
  loadTokens(): TokenRecord[];
  /** Inserts the token, or replaces the one with the same id. */
  putToken(token: TokenRecord): void;
  /** True when a token was deleted. */
  deleteToken(id: string): boolean;
}
