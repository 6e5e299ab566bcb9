import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { OUT_OF_CONTACT_MS } from '../../cluster/cluster-view.js';
import { ErrorBody, errorBody } from '../errors.js';

const Probe = z.object({ status: z.string() });

/** The registry's own health, metrics and API description. */
export const systemRoutes: FastifyPluginAsyncZod = async (app) => {
  app.get(
    '/healthz',
    { schema: { summary: 'Liveness: the process answers', tags: ['system'], response: { 200: Probe } } },
    async () => ({ status: 'ok' }),
  );

  app.get(
    '/readyz',
    {
      schema: {
        summary: 'Readiness: the registry is loaded, not shutting down, and (in a cluster) in contact with etcd',
        description: 'While the server shuts down every request, this one included, is answered 503; so is this one while a cluster node has not heard from etcd for 3 s.',
        tags: ['system'],
        response: { 200: Probe, 503: ErrorBody },
      },
    },
    async (_request, reply) => {
      const lastContactMs = app.cluster.lastContactMs();
      if (lastContactMs !== undefined && lastContactMs > OUT_OF_CONTACT_MS) {
        return reply.code(503).send(errorBody(503, `not ready: no answer from etcd for ${lastContactMs} ms`));
      }
      return { status: 'ready' };
    },
  );

  app.get('/metrics', { schema: { summary: 'Prometheus metrics', tags: ['system'] } }, async (_request, reply) => {
    reply.type(app.metrics.registry.contentType);
    return app.metrics.registry.metrics();
  });

  app.get('/openapi.json', { schema: { hide: true } }, async () => app.swagger());
};
