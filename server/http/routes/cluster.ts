import { timingSafeEqual } from 'node:crypto';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { ClusterView } from '../../../contract/cluster.js';
import { InstanceId, ServiceName } from '../../../contract/instance.js';
import type { ClusterStatus } from '../../cluster/cluster-view.js';
import { CLUSTER_SECRET_HEADER } from '../../cluster/liveness-gossip.js';
import { ErrorBody, errorBody } from '../errors.js';

const SharedHeartbeats = z.object({
  from: z.string().max(64),
  heartbeats: z
    .array(z.object({ service: ServiceName, id: InstanceId, ageMs: z.number().int().min(0).max(86_400_000), output: z.string().max(4096) }))
    .max(5_000),
});

/** The cluster as this node sees it, and the heartbeat times the other nodes share with it. */
export function clusterRoutes(cluster: ClusterStatus): FastifyPluginAsyncZod {
  return async (app) => {
    app.get(
      '/v1/cluster',
      { schema: { summary: 'The store and the nodes serving this registry', tags: ['cluster'], response: { 200: ClusterView, 401: ErrorBody, 403: ErrorBody } } },
      async () => cluster.view(),
    );

    app.put(
      '/v1/cluster/liveness',
      { config: { access: 'open' }, schema: { hide: true, body: SharedHeartbeats } },
      async (request, reply) => {
        const secret = cluster.peerSecret();
        const shown = request.headers[CLUSTER_SECRET_HEADER];
        if (secret === undefined) return reply.code(404).send(errorBody(404, 'this node is not part of a cluster'));
        if (typeof shown !== 'string' || !sameSecret(shown, secret)) {
          return reply.code(403).send(errorBody(403, `${CLUSTER_SECRET_HEADER}: not this cluster's secret`));
        }
        for (const { service, id, ageMs, output } of request.body.heartbeats) app.registry.renewFromPeer(service, id, ageMs, output);
        return reply.code(204).send();
      },
    );
  };
}

function sameSecret(shown: string, secret: string): boolean {
  const a = Buffer.from(shown);
  const b = Buffer.from(secret);
  return a.length === b.length && timingSafeEqual(a, b);
}
