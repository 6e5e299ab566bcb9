import { CompareResult, CompareTarget, type ICompare, type IKeyValue, type IRequestOp } from 'etcd3';
import { EtcdEndpoints, type EtcdTlsMaterial } from './endpoints.js';
import { EtcdError } from './errors.js';
import { SessionLease } from './session-lease.js';
import type { Compare, GetResult, KeyValue, LeaseId, RequestOptions, Txn, TxnOp, TxnResult } from './types.js';
import { type OnCompacted, type OnEvents, type OnWatchError, PrefixWatch, prefixRange } from './watch.js';

export type { EtcdTlsMaterial } from './endpoints.js';
export { EtcdError, type EtcdErrorCode } from './errors.js';
export type { LeaseLoss, SessionLease } from './session-lease.js';
export type * from './types.js';
export type { OnCompacted, OnEvents, OnWatchError, PrefixWatch, WatchStats } from './watch.js';

export interface EtcdClientOptions {
  /** Client URLs of the etcd members, e.g. `http://127.0.0.1:2379`; `https://` ones are reached over TLS. */
  endpoints: readonly string[];
  /** For `https://` endpoints: the CA etcd's certificates are checked against (none: gRPC's default CAs), and a client certificate and key (PEM). */
  tls?: EtcdTlsMaterial;
  /**
   * How long a request may take, retries included, before it fails (the registry answers 503).
   * A write that is not committed within it fails with `unavailable` or `unknown-outcome`.
   */
  requestTimeoutMs?: number;
  /** How long a watch stream may stay silent before it is probed, and then given up. */
  watchLivenessMs?: number;
}

const DEFAULT_REQUEST_TIMEOUT_MS = 2_000;

/**
 * Everything Beacon's store needs from etcd, in plain types: prefix reads, compare-and-swap
 * transactions, resumable prefix watches, a session lease and compaction. The etcd3 library and
 * gRPC stay inside this folder.
 */
export class EtcdClient {
  private readonly endpoints: EtcdEndpoints;
  private readonly timeoutMs: number;
  private readonly livenessMs: number;
  private readonly watches = new Set<PrefixWatch>();
  private readonly leases = new Set<SessionLease>();

  constructor(options: EtcdClientOptions) {
    this.endpoints = new EtcdEndpoints(options.endpoints, options.tls);
    this.timeoutMs = options.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS;
    this.livenessMs = options.watchLivenessMs ?? this.timeoutMs;
  }

  /** Every key under `prefix`, read linearizably (what a quorum has committed). */
  async get(prefix: string, options: RequestOptions = {}): Promise<GetResult> {
    const [key, rangeEnd] = prefixRange(prefix);
    const response = await this.endpoints.request('read', options.timeoutMs ?? this.timeoutMs, (etcd, call) =>
      etcd.kv.range({ key, range_end: rangeEnd }, call),
    );
    return { kvs: response.kvs.map(toKeyValue), revision: Number(response.header.revision) };
  }

  /** One atomic transaction: `then` runs if every compare in `if` holds, `else` otherwise. */
  async txn(txn: Txn, options: RequestOptions = {}): Promise<TxnResult> {
    const request = { compare: (txn.if ?? []).map(toCompare), success: txn.then.map(toRequestOp), failure: (txn.else ?? []).map(toRequestOp) };
    const response = await this.endpoints.request('write', options.timeoutMs ?? this.timeoutMs, (etcd, call) => etcd.kv.txn(request, call));
    return { succeeded: response.succeeded, revision: Number(response.header.revision) };
  }

  /** An unconditional put: a transaction with no compare. */
  async put(key: string, value: Buffer | string, options: RequestOptions & { lease?: LeaseId } = {}): Promise<TxnResult> {
    return this.txn({ then: [{ put: key, value, ...(options.lease ? { lease: options.lease } : {}) }] }, options);
  }

  /**
   * Watches every key under `prefix` from `fromRevision` (inclusive), delivering events in
   * revision order. After a member fails the watch resumes on another one from the last revision
   * `onEvents` returned for; events at or below it are dropped as replays. `onCompacted` means
   * the history since then is gone and the watch has ended: re-list with `get` and watch again
   * from its revision + 1. `onError` is told of each reconnect, and of a handler failure (which
   * ends the watch).
   */
  watch(prefix: string, fromRevision: number, onEvents: OnEvents, onCompacted: OnCompacted, onError: OnWatchError): PrefixWatch {
    if (this.endpoints.isClosed()) throw new EtcdError('closed', 'the etcd client is closed');
    const watch = new PrefixWatch(this.endpoints, prefix, fromRevision, onEvents, onCompacted, onError, this.livenessMs);
    this.watches.add(watch);
    void watch.ended.then(() => this.watches.delete(watch));
    return watch;
  }

  /** Grants a lease of `ttlSeconds` and keeps it alive until it is lost, revoked or released. */
  async grant(ttlSeconds: number, options: RequestOptions = {}): Promise<SessionLease> {
    const lease = await SessionLease.grant(this.endpoints, ttlSeconds, options.timeoutMs ?? this.timeoutMs);
    this.leases.add(lease);
    void lease.lost.then(() => this.leases.delete(lease));
    return lease;
  }

  /** Discards the history before `revision`; watches and reads at older revisions get `compacted`. */
  async compact(revision: number, options: RequestOptions = {}): Promise<void> {
    await this.endpoints.request('write', options.timeoutMs ?? this.timeoutMs, (etcd, call) => etcd.kv.compact({ revision, physical: true }, call));
  }

  /** When etcd last answered anything (ms since the epoch); undefined before the first answer. */
  lastContactAt(): number | undefined {
    return this.endpoints.lastContactAt();
  }

  /** Stops every watch and keepalive (leases are left to expire) and closes the connections. */
  async close(): Promise<void> {
    for (const lease of this.leases) lease.release();
    await Promise.all([...this.watches].map((w) => w.cancel()));
    this.endpoints.close();
  }
}

function toKeyValue(kv: IKeyValue): KeyValue {
  return {
    key: kv.key.toString(),
    value: kv.value,
    modRevision: Number(kv.mod_revision),
    createRevision: Number(kv.create_revision),
    lease: kv.lease && kv.lease !== '0' ? kv.lease : undefined,
  };
}

function toCompare(compare: Compare): ICompare {
  const key = Buffer.from(compare.key);
  // etcd3's proto renames etcd's enums ('Mod', not MOD); a name it does not know is not an
  // error but compares the default field (VERSION), so only the enum values are used.
  if ('modRevision' in compare) return { key, target: CompareTarget.Mod, result: CompareResult.Equal, mod_revision: compare.modRevision };
  // A key that does not exist compares as all zeroes (etcd applyCompare), so create_revision > 0
  // is "exists" and = 0 is "absent".
  return { key, target: CompareTarget.Create, result: compare.exists ? CompareResult.Greater : CompareResult.Equal, create_revision: 0 };
}

function toRequestOp(op: TxnOp): IRequestOp {
  if ('put' in op) return { request_put: { key: Buffer.from(op.put), value: Buffer.from(op.value), ...(op.lease ? { lease: op.lease } : {}) } };
  return { request_delete_range: { key: Buffer.from(op.delete) } };
}
