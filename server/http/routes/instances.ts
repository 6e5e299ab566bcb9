import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { Heartbeat, Instance, InstanceId, InstanceRegistration, MaintenanceChange, ServiceName } from '../../../contract/instance.js';
import { ErrorBody } from '../errors.js';

const InstancePath = z.object({ service: ServiceName, id: InstanceId });

/** Writes: register, heartbeat, maintenance, deregister. A 2xx means the change is durable. */
export const instanceRoutes: FastifyPluginAsyncZod = async (app) => {
  const registry = app.registry;

  app.put(
    '/v1/services/:service/instances/:id',
    {
      config: { access: 'write' },
      schema: {
        summary: 'Register an instance, or replace its registration',
        tags: ['instances'],
        params: InstancePath,
        body: InstanceRegistration,
        response: {
          200: Instance.describe('Replaced'),
          201: Instance.describe('Created'),
          400: ErrorBody,
          409: ErrorBody.describe('An instance cap is reached (--max-instances, --max-instances-per-service)'),
          413: ErrorBody,
          415: ErrorBody,
          503: ErrorBody,
        },
      },
    },
    async (request, reply) => {
      const { instance, created } = await registry.register(request.params.service, request.params.id, request.body);
      return reply.code(created ? 201 : 200).send(instance);
    },
  );

  app.put(
    '/v1/services/:service/instances/:id/heartbeat',
    {
      config: { access: 'write' },
      schema: {
        summary: 'Renew the TTL, optionally reporting a status',
        description: 'No status means passing. 404 means the registry does not know the instance: register again.',
        tags: ['instances'],
        params: InstancePath,
        body: Heartbeat.optional(),
        response: { 200: Instance, 400: ErrorBody, 404: ErrorBody, 413: ErrorBody, 415: ErrorBody, 503: ErrorBody },
      },
    },
    async (request) => registry.heartbeat(request.params.service, request.params.id, request.body ?? {}),
  );

  app.put(
    '/v1/services/:service/instances/:id/maintenance',
    {
      config: { access: 'write' },
      schema: {
        summary: 'Take an instance out of every answer, or put it back',
        tags: ['instances'],
        params: InstancePath,
        body: MaintenanceChange,
        response: { 200: Instance, 400: ErrorBody, 404: ErrorBody, 413: ErrorBody, 415: ErrorBody, 503: ErrorBody },
      },
    },
    async (request) => registry.setMaintenance(request.params.service, request.params.id, request.body),
  );

  app.delete(
    '/v1/services/:service/instances/:id',
    {
      config: { access: 'write' },
      schema: {
        summary: 'Deregister an instance',
        tags: ['instances'],
        params: InstancePath,
        response: { 204: z.undefined().describe('Deregistered'), 400: ErrorBody, 404: ErrorBody, 503: ErrorBody },
      },
    },
    async (request, reply) => {
      await registry.deregister(request.params.service, request.params.id);
      return reply.code(204).send();
    },
  );
};
