import type { ClusterView } from '../../contract/cluster.js';

/**
 * This node's link to the cluster, as the transports need it: what to show, and how long ago
 * the shared store last answered (undefined for a single node, which has no one to lose).
 */
export interface ClusterStatus {
  view(): ClusterView;
  lastContactMs(): number | undefined;
  /** What other nodes show when they share heartbeat times; undefined for a single node. */
  peerSecret(): string | undefined;
}

/** Past this long without hearing from etcd a node is not ready, refuses writes and expires nothing (SPEC). */
export const OUT_OF_CONTACT_MS = 3_000;
