import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { ServiceName } from '../../../contract/instance.js';
import { TrafficPolicy } from '../../../contract/traffic-policy.js';
import { BlockingQuery, INDEX_HEADER, waitIfAsked } from '../blocking.js';
import { ErrorBody, errorBody } from '../errors.js';

const PolicyPath = z.object({ service: ServiceName });

/**
 * A service's traffic policy (SPEC: Traffic policy): set, read (blocking-query capable, so every
 * proxy follows it live) and removed. Writing it needs the right to write the service.
 */
export const policyRoutes: FastifyPluginAsyncZod = async (app) => {
  const policies = app.registry.policies;

  app.get(
    '/v1/policies',
    {
      schema: {
        summary: "Every service's traffic policy",
        description: 'An object from service name to policy, in name order; services without a policy are left out. Blocking-query capable: any policy change moves its index.',
        tags: ['policies'],
        querystring: BlockingQuery,
        response: { 200: z.record(z.string(), TrafficPolicy).describe('Policies by service name'), 400: ErrorBody, 429: ErrorBody.describe('Too many blocking queries from this client'), 503: ErrorBody },
      },
    },
    async (request, reply) => {
      await waitIfAsked(reply, request.query, (after, ms, signal) => policies.waitForList(after, ms, signal));
      reply.header(INDEX_HEADER, policies.listIndex());
      return policies.all();
    },
  );

  app.get(
    '/v1/services/:service/policy',
    {
      schema: {
        summary: "Get a service's traffic policy",
        description: 'The policy as it was set. 404 when the service has none; with ?index= the 404 too waits for a change, so a proxy can watch a policy that is not set yet.',
        tags: ['policies'],
        params: PolicyPath,
        querystring: BlockingQuery,
        response: { 200: TrafficPolicy, 400: ErrorBody, 404: ErrorBody.describe('The service has no policy'), 429: ErrorBody.describe('Too many blocking queries from this client'), 503: ErrorBody },
      },
    },
    async (request, reply) => {
      const { service } = request.params;
      await waitIfAsked(reply, request.query, (after, ms, signal) => policies.wait(service, after, ms, signal));
      reply.header(INDEX_HEADER, policies.index(service));
      const policy = policies.get(service);
      if (!policy) return reply.code(404).send(errorBody(404, `service "${service}" has no traffic policy: set one with PUT /v1/services/${service}/policy`));
      return policy;
    },
  );

  app.put(
    '/v1/services/:service/policy',
    {
      config: { access: 'write' },
      schema: {
        summary: "Set a service's traffic policy, or replace it",
        description: 'Every field is optional; a proxy takes what the policy leaves out from its flags. A 2xx means the policy is durable.',
        tags: ['policies'],
        params: PolicyPath,
        body: TrafficPolicy,
        response: {
          200: TrafficPolicy.describe('Replaced'),
          201: TrafficPolicy.describe('Created'),
          400: ErrorBody,
          413: ErrorBody,
          415: ErrorBody,
          503: ErrorBody,
        },
      },
    },
    async (request, reply) => {
      const { service } = request.params;
      const { created } = await policies.set(service, request.body);
      reply.header(INDEX_HEADER, policies.index(service));
      return reply.code(created ? 201 : 200).send(request.body);
    },
  );

  app.delete(
    '/v1/services/:service/policy',
    {
      config: { access: 'write' },
      schema: {
        summary: "Remove a service's traffic policy",
        tags: ['policies'],
        params: PolicyPath,
        response: { 204: z.undefined().describe('Removed'), 400: ErrorBody, 404: ErrorBody.describe('The service had no policy'), 503: ErrorBody },
      },
    },
    async (request, reply) => {
      const { service } = request.params;
      if (!(await policies.delete(service))) return reply.code(404).send(errorBody(404, `service "${service}" has no traffic policy`));
      reply.header(INDEX_HEADER, policies.index(service));
      return reply.code(204).send();
    },
  );
};
