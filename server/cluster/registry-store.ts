import type { FastifyBaseLogger } from 'fastify';
import type { ServerConfig } from '../config.js';
import type { Metrics } from '../metrics/metrics.js';
import type { EtcdStore } from '../store/etcd/etcd-store.js';
import { SqliteStore } from '../store/sqlite/sqlite-store.js';
import type { Store, TokenStore } from '../store/store.js';
import { type ClusterStatus, OUT_OF_CONTACT_MS } from './cluster-view.js';
import { ownerOf } from './ownership.js';

/** A node's session TTL: when it dies, the instances it expired move to live nodes within it. */
const SESSION_TTL_SECONDS = 5;

/** How often a cluster node shares the heartbeat times it took with the other nodes. */
const LIVENESS_SHARE_INTERVAL_MS = 250;

/**
 * How long past its TTL an instance waits before its owner expires it: long enough for a
 * heartbeat taken at another node to arrive (two sharing intervals), well inside TTL + 1 s.
 */
const CLUSTER_EXPIRY_GRACE_MS = 2 * LIVENESS_SHARE_INTERVAL_MS;

/** The store a server keeps its registry in, and what the rest of the server needs to know of it. */
export interface RegistryStore {
  store: Store;
  /** Where ACL tokens live: the same SQLite file, or the same etcd prefix. */
  tokens: TokenStore;
  /** Whether this node expires and removes the instance (a single node: always). */
  owns?: (service: string, id: string) => boolean;
  /** See RegistryOptions.expiryGraceMs. */
  expiryGraceMs: number;
  /** How often heartbeat times leave memory: to the SQLite file, or to the other nodes. */
  livenessIntervalMs?: number;
  status(index: () => number): ClusterStatus;
  /** Tells the cluster where this node's HTTP API listens, once it does. */
  announce(httpUrl: string): Promise<void>;
  close(): Promise<void>;
}

/** SQLite by default; with --etcd, this node's view of the registry kept in etcd. */
export async function openRegistryStore(config: ServerConfig, log: () => FastifyBaseLogger | undefined, metrics: Metrics): Promise<RegistryStore> {
  if (config.etcd.length === 0) {
    const sqlite = new SqliteStore({ path: config.db, synchronous: config.dbSync });
    const startedAt = new Date().toISOString();
    return {
      store: sqlite,
      tokens: sqlite,
      expiryGraceMs: 0,
      status: (index) => ({
        view: () => ({ store: 'sqlite', node: config.nodeName, index: index(), nodes: [{ name: config.nodeName, http: '', live: true, startedAt }] }),
        lastContactMs: () => undefined,
        peerSecret: () => undefined,
      }),
      announce: async () => undefined,
      close: async () => sqlite.close(),
    };
  }
  // Loaded only for a cluster: a single node never loads etcd3, gRPC or protobufjs.
  const [{ EtcdClient }, { EtcdStore: Store }, { LivenessGossip }] = await Promise.all([
    import('../store/etcd/etcd-client.js'),
    import('../store/etcd/etcd-store.js'),
    import('./liveness-gossip.js'),
  ]);
  const client = new EtcdClient({ endpoints: config.etcd, ...(config.etcdTls ? { tls: config.etcdTls } : {}) });
  let etcd: EtcdStore | undefined;
  const observeRequest = metrics.observeCluster({
    stats: () => etcd?.stats ?? { appliedRevision: 0, latestRevision: 0, relists: 0 },
    nodeCount: () => etcd?.nodes.size ?? 0,
    lastContactMs: () => lastContactMs(),
  });
  const gossip = new LivenessGossip({
    self: config.nodeName,
    nodes: () => etcd?.nodes.values() ?? [],
    secret: () => etcd?.clusterSecret ?? '',
    now: () => Date.now(),
    log,
  });
  const lastContactMs = () => {
    const at = client.lastContactAt();
    return at === undefined ? undefined : Math.max(0, Date.now() - at);
  };
  try {
    etcd = await Store.open({
      client,
      prefix: config.etcdPrefix,
      node: { name: config.nodeName, http: '', startedAt: Date.now() },
      sessionTtlSeconds: SESSION_TTL_SECONDS,
      onWatchTrouble: (what, error) => log()?.warn({ err: error }, what),
      shareLiveness: (rows) => gossip.share(rows),
      onRequest: observeRequest,
    });
  } catch (error) {
    await client.close();
    throw new Error(`cannot join the cluster in etcd at ${config.etcd.join(',')}: ${(error as Error).message}`, { cause: error });
  }
  const cluster = etcd;
  return {
    store: cluster,
    tokens: cluster.tokens,
    // A node out of contact with etcd decides nothing: its session may be over already.
    owns: (service, id) => (lastContactMs() ?? Infinity) <= OUT_OF_CONTACT_MS && ownerOf(`${service}/${id}`, cluster.nodes.keys()) === config.nodeName,
    expiryGraceMs: CLUSTER_EXPIRY_GRACE_MS,
    livenessIntervalMs: LIVENESS_SHARE_INTERVAL_MS,
    status: () => ({
      view: () => ({
        store: 'etcd',
        node: config.nodeName,
        index: cluster.appliedRevision,
        nodes: [...cluster.nodes.values()].map((node) => ({ name: node.name, http: node.http, live: true, startedAt: new Date(node.startedAt).toISOString() })).sort((a, b) => (a.name < b.name ? -1 : 1)),
      }),
      lastContactMs,
      peerSecret: () => cluster.clusterSecret,
    }),
    announce: (httpUrl) => cluster.announce(httpUrl),
    close: async () => {
      await cluster.close();
      await client.close();
    },
  };
}
