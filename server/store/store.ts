/**
 * The registry's persistence boundary. The core keeps every instance in memory and calls the
 * store only to make changes durable and to load them at start, so a second backend (etcd,
 * say) is a new folder implementing this interface.
 *
 * Times are milliseconds since the Unix epoch.
 */
export interface InstanceRecord {
  service: string;
  id: string;
  address: string;
  port: number;
  weight: number;
  tags: string[];
  meta: Record<string, string>;
  ttlMs: number;
  deregisterAfterMs: number;
  /** Last status a heartbeat reported (or passing after registration). */
  checkStatus: 'passing' | 'warning' | 'critical';
  output: string;
  maintenance: boolean;
  maintenanceReason: string | null;
  /** True once the TTL ran out without a heartbeat: the instance is critical until one arrives. */
  expired: boolean;
  /** When the instance last turned critical (by report or expiry); null while it is not. */
  criticalSince: number | null;
  registeredAt: number;
  lastHeartbeatAt: number;
}

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
