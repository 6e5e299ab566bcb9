import type { FastifyBaseLogger } from 'fastify';
import { request } from 'undici';
import type { LivenessRecord } from '../store/store.js';
import type { NodeRecord } from '../store/etcd/etcd-store.js';

export interface LivenessGossipOptions {
  self: string;
  /** The live nodes, this one included. */
  nodes: () => Iterable<NodeRecord>;
  secret: () => string;
  now: () => number;
  log: () => FastifyBaseLogger | undefined;
  timeoutMs?: number;
}

/** The header a node shows the cluster's secret in. */
export const CLUSTER_SECRET_HEADER = 'x-beacon-cluster-secret';

/**
 * Shares the heartbeat times this node took with every other live node, so an instance may
 * heartbeat at any node and still be expired by its owner only when it is really silent.
 * Heartbeats never reach etcd: etcd sees state changes only. Times travel as ages, not clock
 * readings, so nodes need not agree on the time. A node that misses a batch (it is down or slow)
 * loses nothing durable: at worst it expires an instance whose next heartbeat revives it.
 */
export class LivenessGossip {
  constructor(private readonly options: LivenessGossipOptions) {}

  share(rows: readonly LivenessRecord[]): void {
    const peers = [...this.options.nodes()].filter((node) => node.name !== this.options.self && node.http !== '');
    if (rows.length === 0 || peers.length === 0) return;
    const now = this.options.now();
    const body = JSON.stringify({
      from: this.options.self,
      heartbeats: rows.map((row) => ({ service: row.service, id: row.id, ageMs: Math.max(0, now - row.lastHeartbeatAt), output: row.output })),
    });
    for (const node of peers) void this.send(node, body);
  }

  private async send(node: NodeRecord, body: string): Promise<void> {
    const timeoutMs = this.options.timeoutMs ?? 1_000;
    try {
      const response = await request(`${node.http}/v1/cluster/liveness`, {
        method: 'PUT',
        body,
        headers: { 'content-type': 'application/json', [CLUSTER_SECRET_HEADER]: this.options.secret() },
        headersTimeout: timeoutMs,
        bodyTimeout: timeoutMs,
      });
      await response.body.dump();
      if (response.statusCode !== 204) this.options.log()?.warn({ node: node.name, status: response.statusCode }, 'a node refused the heartbeat times shared with it');
    } catch (error) {
      // A node that is down misses these; its session ends soon and it stops owning anything.
      this.options.log()?.debug({ err: error, node: node.name }, 'sharing heartbeat times with a node failed');
    }
  }
}
