import { randomBytes } from 'node:crypto';
import type { CommitOptions, CommittedBatch, CommittedChange, LivenessRecord, Store, StoreChange, StoredInstance, StoredPolicy, StoredState } from '../store.js';
import { StoreConflict } from '../store.js';
import { CommitBatcher } from './commit-batcher.js';
import { type EtcdClient, EtcdError, type KeyValue, type SessionLease, type Txn, type TxnOp, type TxnResult, type WatchEvent } from './etcd-client.js';
import type { Compare } from './types.js';
import { EtcdTokens } from './etcd-tokens.js';
import { decodeInstance, decodePolicy, encodeInstance, encodePolicy, keyOf } from './records.js';
import type { PrefixWatch } from './watch.js';

/** A Beacon node as it announces itself under `nodes/`, for as long as its session lives. */
export interface NodeRecord {
  name: string;
  /** Its HTTP API's base URL, for the other nodes and for `GET /v1/cluster`. */
  http: string;
  startedAt: number;
}

export interface EtcdStoreOptions {
  client: EtcdClient;
  /** Key prefix, ending in '/': two registries can share one etcd. */
  prefix: string;
  node: NodeRecord;
  /** The session's TTL: when this node dies, its work moves to live nodes within it. */
  sessionTtlSeconds: number;
  /** How long a commit may wait for this node's own view to reach it. */
  catchUpTimeoutMs?: number;
  /** Told whenever the set of live nodes changes. */
  onNodesChanged?: (nodes: ReadonlyMap<string, NodeRecord>) => void;
  /** Told when the watch fails or etcd's history was compacted past it (it re-lists by itself). */
  onWatchTrouble?: (what: string, error?: unknown) => void;
  /** Heartbeat times this node received, to share with the other nodes (they never reach etcd). */
  shareLiveness?: (rows: readonly LivenessRecord[]) => void;
  /** Told of every request this store makes to etcd, for the latency metric. */
  onRequest?: (operation: 'txn' | 'range', seconds: number, ok: boolean) => void;
}

/** How far this node's view is, for metrics. */
export interface EtcdStoreStats {
  /** The revision this node's view has applied. */
  appliedRevision: number;
  /** The newest revision etcd has told this node of (in any answer or watch response). */
  latestRevision: number;
  /** Times the view was listed again because etcd compacted the history the watch needed. */
  relists: number;
}

/**
 * The registry in etcd. Keys under the prefix:
 *   instances/<service>/<id>  one instance, JSON; its mod_revision is the record's version
 *   policies/<service>        a service's traffic policy, JSON, versioned the same way
 *   index/<service>, index/*  touched by every commit that visibly changes the service (or the
 *                             catalog), so any node can tell each one's change index at start
 *   nodes/<name>              a live node, attached to its session lease
 *   cluster/secret            created by the first node: what nodes show each other
 *   tokens/<id>               an ACL token, JSON {id, secretHash (hex SHA-256 of the secret),
 *                             kind, services, description, createdAt}; never the secret
 *
 * (records.ts writes and reads these values, for this store and for `beacon store copy`.)
 *
 * Every node holds the whole registry in memory, fed by one watch on the prefix that starts
 * from the revision of its initial list and resumes from the last revision applied. A commit is
 * one transaction comparing each record's version (so a change made from stale state is refused,
 * never applied twice) and resolves once this node's own watch has applied it: a node reads its
 * own writes, and every node applies every change in revision order, through the same path.
 */
export class EtcdStore implements Store {
  /** The ACL tokens, fed by the same list and watch as the instances. */
  readonly tokens: EtcdTokens;
  private listener: ((batch: CommittedBatch) => void) | undefined;
  private watch: PrefixWatch | undefined;
  private applied: number;
  private readonly caughtUp = new Map<number, Array<() => void>>();
  /** The last revision applied per instance key: a replayed or duplicated event is a no-op. */
  private readonly versions = new Map<string, number>();
  private readonly liveNodes = new Map<string, NodeRecord>();
  private secret = '';
  private latest: number;
  private relists = 0;
  private closed = false;
  /** Instance and policy commits, grouped into shared transactions. */
  private readonly batcher = new CommitBatcher((txn) => this.timed('txn', () => this.options.client.txn(txn)));

  private constructor(
    private readonly options: EtcdStoreOptions,
    private session: SessionLease,
    private readonly initial: StoredState,
    revision: number,
  ) {
    this.applied = revision;
    this.latest = revision;
    this.tokens = new EtcdTokens(options.prefix, (txn, wait) => this.write(txn, wait));
    this.keepSession();
  }

  /** Joins the cluster: starts this node's session, lists the registry, and starts the watch. */
  static async open(options: EtcdStoreOptions): Promise<EtcdStore> {
    const { client, prefix, node } = options;
    const session = await client.grant(options.sessionTtlSeconds);
    const secretKey = `${prefix}cluster/secret`;
    await client.txn({ if: [{ key: secretKey, exists: false }], then: [{ put: secretKey, value: randomBytes(32).toString('base64url') }] });
    const nodeKey = `${prefix}nodes/${node.name}`;
    const joined = await client.txn({
      if: [{ key: nodeKey, exists: false }],
      then: [{ put: nodeKey, value: JSON.stringify(node), lease: session.id }],
    });
    if (!joined.succeeded) {
      session.release();
      throw new Error(`--node-name ${node.name}: a live node of this cluster already has that name (etcd key ${nodeKey})`);
    }
    const listed = await client.get(prefix);
    const store = new EtcdStore(options, session, { instances: [], lastIndex: listed.revision }, listed.revision);
    store.initial.instances.push(...store.readAll(listed.kvs, store.initial));
    store.startWatch(listed.revision + 1);
    return store;
  }

  get nodeName(): string {
    return this.options.node.name;
  }

  /** The nodes whose session lives, this one included. */
  get nodes(): ReadonlyMap<string, NodeRecord> {
    return this.liveNodes;
  }

  /**
   * A secret only those who can read this registry in etcd know: nodes show it to each other
   * when they share heartbeat times, so no one else can keep an instance alive that way.
   */
  get clusterSecret(): string {
    return this.secret;
  }

  /** The revision this node's view has reached. */
  get appliedRevision(): number {
    return this.applied;
  }

  get stats(): EtcdStoreStats {
    return { appliedRevision: this.applied, latestRevision: Math.max(this.latest, this.applied), relists: this.relists };
  }

  /**
   * A session can end while the node lives on (cut off from etcd for longer than its TTL): the
   * node then joins again with a new one as soon as etcd answers, once its old key is gone.
   */
  private keepSession(): void {
    void this.session.lost.then(async (loss) => {
      if (this.closed || loss.reason === 'closed') return;
      this.options.onWatchTrouble?.(`this node's session in etcd ended (${loss.reason}); joining again`, loss.error);
      const key = `${this.options.prefix}nodes/${this.options.node.name}`;
      for (let attempt = 0; !this.closed; attempt++) {
        try {
          const session = await this.options.client.grant(this.options.sessionTtlSeconds);
          const joined = await this.options.client.txn({ if: [{ key, exists: false }], then: [{ put: key, value: JSON.stringify(this.options.node), lease: session.id }] });
          if (joined.succeeded && !this.closed) {
            this.session = session;
            this.keepSession();
            return;
          }
          session.release(); // its old key is still there: try again once that has expired
        } catch (error) {
          this.options.onWatchTrouble?.('joining the cluster again failed; trying again', error);
        }
        await new Promise((resolve) => setTimeout(resolve, Math.min(2_000, 100 * 2 ** attempt)));
      }
    });
  }

  /** Rewrites this node's announcement (its HTTP URL, once it listens), on the same session. */
  async announce(http: string): Promise<void> {
    const key = `${this.options.prefix}nodes/${this.options.node.name}`;
    this.options.node.http = http;
    await this.options.client.txn({ if: [{ key, exists: true }], then: [{ put: key, value: JSON.stringify(this.options.node), lease: this.session.id }] });
  }

  load(): StoredState {
    return this.initial;
  }

  subscribe(listener: (batch: CommittedBatch) => void): void {
    this.listener = listener;
  }

  async commit(changes: readonly StoreChange[], options: CommitOptions): Promise<void> {
    const { prefix } = this.options;
    const ops: TxnOp[] = changes.map((change) => {
      const key = this.keyOf(change);
      if (change.kind === 'put') return { put: key, value: encodeInstance(change.instance) };
      if (change.kind === 'put-policy') return { put: key, value: encodePolicy(change.policy) };
      return { delete: key };
    });
    const markers = [...options.touched].map((key) => keyOf.index(prefix, key));
    const compares: Compare[] = changes.map((change) => ({ key: this.keyOf(change), modRevision: change.expectedVersion }));
    // The sweep's own decisions hold only while this node is a live member: a node cut off
    // from the cluster, whose session etcd has ended, can no longer expire anything.
    if (options.asSessionHolder) compares.push({ key: `${prefix}nodes/${this.options.node.name}`, exists: true });
    const result = await this.batcher.submit({ compares, ops, markers });
    this.latest = Math.max(this.latest, result.revision);
    await this.reach(result.revision);
    if (!result.succeeded) throw new StoreConflict('the instance changed at another node meanwhile');
  }

  /** Heartbeat times never reach etcd: they go to the other nodes, which expire by them. */
  saveLiveness(rows: readonly LivenessRecord[]): void {
    this.options.shareLiveness?.(rows);
  }

  /**
   * Leaves the cluster. The session is revoked before the client closes (bounded by the request
   * deadline), so this node's name is free at once: a node restarted right away may take it.
   */
  async close(): Promise<void> {
    this.closed = true;
    void this.watch?.cancel();
    for (const resolvers of this.caughtUp.values()) for (const resolve of resolvers) resolve();
    this.caughtUp.clear();
    await this.session.revoke().catch((error: unknown) => this.options.onWatchTrouble?.("revoking this node's session failed: it ends with its TTL", error));
  }

  /**
   * Commits one transaction and, when `wait` says it changed something this node watches, waits
   * until this node's own view has applied it: a node reads its own writes.
   */
  private async write(txn: Txn, wait: (result: TxnResult) => boolean): Promise<TxnResult> {
    const result = await this.timed('txn', () => this.options.client.txn(txn));
    this.latest = Math.max(this.latest, result.revision);
    if (wait(result)) await this.reach(result.revision);
    return result;
  }

  private async timed<T>(operation: 'txn' | 'range', request: () => Promise<T>): Promise<T> {
    const started = performance.now();
    try {
      const result = await request();
      this.options.onRequest?.(operation, (performance.now() - started) / 1000, true);
      return result;
    } catch (error) {
      this.options.onRequest?.(operation, (performance.now() - started) / 1000, false);
      throw error;
    }
  }

  private keyOf(change: StoreChange): string {
    switch (change.kind) {
      case 'put':
        return this.instanceKey(change.instance.service, change.instance.id);
      case 'delete':
        return this.instanceKey(change.service, change.id);
      case 'put-policy':
        return this.policyKey(change.policy.service);
      case 'delete-policy':
        return this.policyKey(change.service);
    }
  }

  private instanceKey(service: string, id: string): string {
    return keyOf.instance(this.options.prefix, service, id);
  }

  private policyKey(service: string): string {
    return keyOf.policy(this.options.prefix, service);
  }

  /** Waits until this node's view has applied `revision`, bounded: past it the outcome is unknown. */
  private reach(revision: number): Promise<void> {
    if (this.applied >= revision || this.closed) return Promise.resolve();
    const timeoutMs = this.options.catchUpTimeoutMs ?? 5_000;
    return new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new EtcdError('unknown-outcome', `committed at revision ${revision}, but this node's view did not reach it within ${timeoutMs} ms`)), timeoutMs);
      const waiters = this.caughtUp.get(revision) ?? [];
      waiters.push(() => {
        clearTimeout(timer);
        resolve();
      });
      this.caughtUp.set(revision, waiters);
    });
  }

  private startWatch(fromRevision: number): void {
    if (this.closed) return;
    this.watch = this.options.client.watch(
      this.options.prefix,
      fromRevision,
      (events, revision) => {
        this.latest = Math.max(this.latest, revision);
        this.applyEvents(events);
      },
      () => void this.relist(),
      (error) => this.options.onWatchTrouble?.('etcd watch interrupted; resuming', error),
    );
  }

  /** Events of one or more revisions, in order: each revision is one batch for the registry. */
  private applyEvents(events: WatchEvent[]): void {
    let batch: CommittedChange[] = [];
    let revision = 0;
    const flush = () => {
      if (revision > this.applied) {
        if (batch.length > 0) this.listener?.({ index: revision, changes: batch });
        this.advanceTo(revision);
      }
      batch = [];
    };
    for (const event of events) {
      if (event.modRevision !== revision) {
        flush();
        revision = event.modRevision;
      }
      const change = this.toChange(event.key, event.type === 'put' ? event.value : undefined, event.modRevision);
      if (change) batch.push(change);
    }
    flush();
  }

  /** What one key's new state means: an instance change, a node coming or going, a token, or nothing. */
  private toChange(key: string, value: Buffer | undefined, revision: number): CommittedChange | undefined {
    const path = key.slice(this.options.prefix.length);
    if (path.startsWith('nodes/')) {
      const name = path.slice('nodes/'.length);
      if (value) this.liveNodes.set(name, JSON.parse(value.toString()) as NodeRecord);
      else this.liveNodes.delete(name);
      this.options.onNodesChanged?.(this.liveNodes);
      return undefined;
    }
    if (path.startsWith('tokens/')) {
      this.tokens.apply(path.slice('tokens/'.length), value, revision);
      return undefined;
    }
    if (!isRecordPath(path)) return undefined;
    if ((this.versions.get(key) ?? 0) >= revision) return undefined; // a replay
    if (value) this.versions.set(key, revision);
    else this.versions.delete(key);
    if (path.startsWith('policies/')) {
      const service = path.slice('policies/'.length);
      return value ? { kind: 'put-policy', policy: { ...decodePolicy(value), version: revision } } : { kind: 'delete-policy', service };
    }
    const [service, id] = path.slice('instances/'.length).split('/') as [string, string];
    if (!value) return { kind: 'delete', service, id };
    return { kind: 'put', instance: { ...decodeInstance(value), version: revision } };
  }

  private advanceTo(revision: number): void {
    this.applied = revision;
    for (const [waitedFor, resolvers] of this.caughtUp) {
      if (waitedFor > revision) continue;
      this.caughtUp.delete(waitedFor);
      for (const resolve of resolvers) resolve();
    }
  }

  /** The initial list: instances (with versions), nodes, tokens, and each key's change index. */
  private readAll(kvs: readonly KeyValue[], state: StoredState): StoredInstance[] {
    const instances: StoredInstance[] = [];
    const policies: StoredPolicy[] = [];
    const keyIndexes = new Map<string, number>();
    for (const kv of kvs) {
      const path = kv.key.slice(this.options.prefix.length);
      if (path.startsWith('index/')) keyIndexes.set(path.slice('index/'.length), kv.modRevision);
      else if (path === 'cluster/secret') this.secret = kv.value.toString();
      else if (path.startsWith('nodes/')) this.liveNodes.set(path.slice('nodes/'.length), JSON.parse(kv.value.toString()) as NodeRecord);
      else if (path.startsWith('tokens/')) this.tokens.apply(path.slice('tokens/'.length), kv.value, kv.modRevision);
      else if (path.startsWith('instances/')) {
        this.versions.set(kv.key, kv.modRevision);
        instances.push({ ...decodeInstance(kv.value), version: kv.modRevision });
      } else if (path.startsWith('policies/')) {
        this.versions.set(kv.key, kv.modRevision);
        policies.push({ ...decodePolicy(kv.value), version: kv.modRevision });
      }
    }
    state.keyIndexes = keyIndexes;
    state.policies = policies;
    return instances;
  }

  /**
   * etcd compacted the history this watch needed: list again and hand the registry the
   * difference, as one batch at the list's revision, so only what changed moves an index.
   * Tokens likewise: those changed are applied, those deleted meanwhile dropped.
   */
  private async relist(): Promise<void> {
    this.relists += 1;
    this.options.onWatchTrouble?.('etcd history compacted past this node; listing the registry again');
    for (let attempt = 0; !this.closed; attempt++) {
      try {
        const listed = await this.timed('range', () => this.options.client.get(this.options.prefix));
        this.latest = Math.max(this.latest, listed.revision);
        const seen = new Set<string>();
        const changes: CommittedChange[] = [];
        const tokens: KeyValue[] = [];
        this.liveNodes.clear();
        for (const kv of listed.kvs) {
          const path = kv.key.slice(this.options.prefix.length);
          if (path.startsWith('tokens/')) tokens.push(kv);
          if (path.startsWith('nodes/')) this.liveNodes.set(path.slice('nodes/'.length), JSON.parse(kv.value.toString()) as NodeRecord);
          if (!isRecordPath(path)) continue;
          seen.add(kv.key);
          const change = this.toChange(kv.key, kv.value, kv.modRevision);
          if (change) changes.push(change);
        }
        for (const key of [...this.versions.keys()]) {
          if (!seen.has(key)) changes.push(this.toChange(key, undefined, listed.revision)!);
        }
        this.options.onNodesChanged?.(this.liveNodes);
        this.tokens.replaceAll(tokens);
        if (listed.revision > this.applied) {
          if (changes.length > 0) this.listener?.({ index: listed.revision, changes });
          this.advanceTo(listed.revision);
        }
        this.startWatch(listed.revision + 1);
        return;
      } catch (error) {
        this.options.onWatchTrouble?.('listing the registry after a compaction failed; trying again', error);
        await new Promise((resolve) => setTimeout(resolve, Math.min(5_000, 200 * 2 ** attempt)));
      }
    }
  }
}

/** The keys holding registry records (instances, policies): versioned, compared, listed again after a compaction. */
function isRecordPath(path: string): boolean {
  return path.startsWith('instances/') || path.startsWith('policies/');
}
