/**
 * The plain types the etcd client hands to Beacon's store: no etcd3 or gRPC type crosses this
 * boundary. Keys are UTF-8 strings, values are bytes, revisions are numbers (etcd's int64
 * revisions stay below 2^53 for any registry's lifetime), lease IDs are opaque strings (they use
 * all 64 bits).
 */
export interface KeyValue {
  key: string;
  value: Buffer;
  /** The revision of the key's last change: the per-key version to compare on. */
  modRevision: number;
  /** The revision the key was created at (0 once deleted). */
  createRevision: number;
  /** The lease the key is attached to, or undefined. */
  lease: LeaseId | undefined;
}

export type LeaseId = string;

export interface GetResult {
  kvs: KeyValue[];
  /** The store's revision when the read was served: watch from `revision + 1` to miss nothing. */
  revision: number;
}

/** One condition of a transaction; all must hold for the `then` branch. */
export type Compare =
  /** The key's last change was at exactly this revision (0: the key does not exist). */
  | { key: string; modRevision: number }
  | { key: string; exists: boolean };

export type TxnOp =
  | { put: string; value: Buffer | string; lease?: LeaseId }
  | { delete: string };

export interface Txn {
  if?: Compare[];
  then: TxnOp[];
  else?: TxnOp[];
}

export interface TxnResult {
  /** True when every compare held and `then` ran; false when `else` ran. */
  succeeded: boolean;
  /** The store's revision after the transaction (the revision of its changes, if it made any). */
  revision: number;
}

export interface WatchEvent {
  type: 'put' | 'delete';
  key: string;
  /** Empty for a delete. */
  value: Buffer;
  /**
   * The revision of this change. Events come in revision order; several events share one
   * revision when one transaction changed several keys. Compare it with the last revision
   * applied for the key to recognise a replay.
   */
  modRevision: number;
  /** 0 for a delete. */
  createRevision: number;
}

/** Per-request options; the client's default deadline applies when `timeoutMs` is not given. */
export interface RequestOptions {
  timeoutMs?: number;
}
