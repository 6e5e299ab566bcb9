import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { HealthStatus, Instance, InstanceId, ServiceName, ServiceSummary, Tag } from '../../../contract/instance.js';
import { BlockingQuery, INDEX_HEADER, waitIfAsked } from '../blocking.js';
import { ErrorBody } from '../errors.js';

const InstancesQuery = BlockingQuery.extend({
  healthy: z
    .enum(['true', 'false'], { error: 'must be true or false' })
    .transform((value) => value === 'true')
    .optional()
    .describe('true: only passing and warning instances'),
  status: z
    .string()
    .transform((value) => value.split(','))
    .pipe(z.array(z.enum(HealthStatus.options, { error: 'must list only passing, warning, critical or maintenance' })))
    .optional()
    .describe('Comma-separated statuses to keep, e.g. passing,warning'),
  tag: z
    .union([Tag, z.array(Tag)])
    .transform((value) => (Array.isArray(value) ? value : [value]))
    .optional()
    .describe('Keep instances carrying this tag; repeat for several (all must match)'),
});

/** Reads: the service list and a service's instances, both blocking-query capable. */
export const serviceRoutes: FastifyPluginAsyncZod = async (app) => {
  const registry = app.registry;

  app.get(
    '/v1/services',
    {
      schema: {
        summary: 'List services with instance counts by status',
        tags: ['services'],
        querystring: BlockingQuery,
        response: { 200: z.array(ServiceSummary).describe('Services sorted by name'), 400: ErrorBody, 429: ErrorBody.describe('Too many blocking queries from this client'), 503: ErrorBody },
      },
    },
    async (request, reply) => {
      await waitIfAsked(reply, request.query, (after, ms, signal) => registry.waitForCatalog(after, ms, signal));
      reply.header(INDEX_HEADER, registry.catalogIndex());
      return registry.listServices();
    },
  );

  app.get(
    '/v1/services/:service/instances',
    {
      schema: {
        summary: "List a service's instances",
        tags: ['services'],
        params: z.object({ service: ServiceName }),
        querystring: InstancesQuery,
        response: { 200: z.array(Instance).describe('Instances sorted by id'), 400: ErrorBody, 429: ErrorBody.describe('Too many blocking queries from this client'), 503: ErrorBody },
      },
    },
    async (request, reply) => {
      const { service } = request.params;
      const { healthy, status, tag } = request.query;
      await waitIfAsked(reply, request.query, (after, ms, signal) => registry.waitForService(service, after, ms, signal));
      const statuses = new Set<HealthStatus>(status ?? HealthStatus.options);
      if (healthy) for (const unhealthy of ['critical', 'maintenance'] as const) statuses.delete(unhealthy);
      reply.header(INDEX_HEADER, registry.serviceIndex(service));
      return registry.listInstances(service, { statuses, tags: tag });
    },
  );

  // The single instance, for clients that want to check their own registration.
  app.get(
    '/v1/services/:service/instances/:id',
    {
      schema: {
        summary: 'Get one instance',
        tags: ['instances'],
        params: z.object({ service: ServiceName, id: InstanceId }),
        response: { 200: Instance, 400: ErrorBody, 404: ErrorBody },
      },
    },
    async (request) => registry.getInstance(request.params.service, request.params.id),
  );
};
