import { z } from 'zod';

/** A node as `GET /v1/cluster` lists it. */
export const ClusterNode = z.object({
  name: z.string(),
  http: z.string().describe("The node's HTTP API ('' until it listens, or for a single node)"),
  live: z.boolean(),
  startedAt: z.string().describe('When the node started (ISO 8601): a node that restarted shows a new time'),
});

/** `GET /v1/cluster`: where the registry is kept, and the nodes serving it (docs/cluster.md). */
export const ClusterView = z.object({
  store: z.enum(['sqlite', 'etcd']).describe('Where the registry is kept'),
  node: z.string().describe("This node's name"),
  index: z.number().int().describe("The change index this node's view has reached"),
  nodes: z.array(ClusterNode).describe('The live nodes (under SQLite, only this one)'),
});

export type ClusterView = z.infer<typeof ClusterView>;
