import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { ErrorBody } from '../errors.js';

const SelfPreservationState = z.object({
  enabled: z.boolean().describe('Whether self-preservation may engage'),
  engaged: z.boolean().describe('Whether it holds expiries back now'),
  withheld: z.number().int().describe('Instances whose TTL ran out but are kept from turning critical'),
});

/** The operator's controls (management tokens with --acl). */
export const operatorRoutes: FastifyPluginAsyncZod = async (app) => {
  const registry = app.registry;

  app.get(
    '/v1/operator/self-preservation',
    {
      config: { access: 'manage' },
      schema: {
        summary: 'Self-preservation: whether it is on and holding expiries back',
        tags: ['operator'],
        response: { 200: SelfPreservationState, 401: ErrorBody, 403: ErrorBody },
      },
    },
    async () => registry.selfPreservationState,
  );

  app.put(
    '/v1/operator/self-preservation',
    {
      config: { access: 'manage' },
      schema: {
        summary: 'Turn self-preservation on or off; off, every expiry held back applies at the next sweep',
        tags: ['operator'],
        body: z.strictObject({ enabled: z.boolean() }),
        response: { 200: SelfPreservationState, 400: ErrorBody, 401: ErrorBody, 403: ErrorBody, 415: ErrorBody },
      },
    },
    async (request) => registry.setSelfPreservation(request.body.enabled),
  );
};
