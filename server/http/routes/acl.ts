import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { CreatedToken, Token, TokenCreation, TokenId } from '../../acl/token.js';
import { ErrorBody, errorBody } from '../errors.js';

const ACL_OFF = 'ACL is off: start beacon server with --acl to use tokens';

/** Token administration (management tokens only). With ACL off every call answers 404. */
export const aclRoutes: FastifyPluginAsyncZod = async (app) => {
  const acl = app.acl;

  app.post(
    '/v1/acl/tokens',
    {
      config: { access: 'manage' },
      schema: {
        summary: 'Create a token; its secret is in this answer and nowhere else',
        tags: ['acl'],
        body: TokenCreation,
        response: { 201: CreatedToken, 400: ErrorBody, 401: ErrorBody, 403: ErrorBody, 404: ErrorBody, 503: ErrorBody },
      },
    },
    async (request, reply) => {
      if (!acl) return reply.code(404).send(errorBody(404, ACL_OFF));
      return reply.code(201).send(await acl.create(request.body));
    },
  );

  app.get(
    '/v1/acl/tokens',
    {
      config: { access: 'manage' },
      schema: {
        summary: 'List tokens, without their secrets',
        tags: ['acl'],
        response: { 200: z.array(Token), 401: ErrorBody, 403: ErrorBody, 404: ErrorBody },
      },
    },
    async (_request, reply) => {
      if (!acl) return reply.code(404).send(errorBody(404, ACL_OFF));
      return acl.list();
    },
  );

  app.delete(
    '/v1/acl/tokens/:id',
    {
      config: { access: 'manage' },
      schema: {
        summary: 'Revoke a token: it stops working at once (at the other nodes of a cluster, as soon as they hear of it)',
        tags: ['acl'],
        params: z.object({ id: TokenId }),
        response: { 204: z.undefined().describe('Revoked'), 400: ErrorBody, 401: ErrorBody, 403: ErrorBody, 404: ErrorBody, 503: ErrorBody },
      },
    },
    async (request, reply) => {
      if (!acl) return reply.code(404).send(errorBody(404, ACL_OFF));
      if (!(await acl.revoke(request.params.id))) return reply.code(404).send(errorBody(404, `no token with id ${request.params.id}`));
      return reply.code(204).send();
    },
  );
};
