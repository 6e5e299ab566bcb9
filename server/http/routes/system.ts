import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { ErrorBody } from '../errors.js';

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
        summary: 'Readiness: the registry is loaded and not shutting down',
        description: 'While the server shuts down every request, this one included, is answered 503.',
        tags: ['system'],
        response: { 200: Probe, 503: ErrorBody },
      },
    },
    async () => ({ status: 'ready' }),
  );

  app.get('/metrics', { schema: { summary: 'Prometheus metrics', tags: ['system'] } }, async (_request, reply) => {
    reply.type(app.metrics.registry.contentType);
    return app.metrics.registry.metrics();
  });

  app.get('/openapi.json', { schema: { hide: true } }, async () => app.swagger());
};
