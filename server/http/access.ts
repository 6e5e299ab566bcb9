import type { IncomingHttpHeaders } from 'node:http';
import type { FastifyInstance, FastifyRequest, onRequestHookHandler } from 'fastify';
import type { Acl, Right } from '../acl/acl.js';
import { errorBody } from './errors.js';

/**
 * What a route needs from the caller's token: `read` (any token), `write` (a token that may
 * write the route's `:service`), `manage` (a management token), or `open` (no token: probes,
 * metrics, the API description). Routes under /v1 default to `read`, others to `open`.
 */
export type Access = 'open' | 'read' | 'write' | 'manage';

declare module 'fastify' {
  interface FastifyContextConfig {
    access?: Access;
    /** The secret may also come as `?token=` (old Consul clients); only the Consul-compatible routes say so. */
    queryToken?: boolean;
  }
}

/**
 * With ACL on, each route gets an onRequest hook for the right it needs, decided once when the
 * route is added; it runs before the body is even parsed, so a refused request costs little and
 * learns nothing about validation. With ACL off no hook is added at all.
 */
export function enforceAccess(app: FastifyInstance, acl: Acl | undefined): void {
  if (!acl) return;
  app.addHook('onRoute', (route) => {
    const access = route.config?.access ?? (route.url.startsWith('/v1/') ? 'read' : 'open');
    if (access === 'open') return;
    const queryToken = route.config?.queryToken === true;
    const check: onRequestHookHandler = (request, reply, done) => {
      const denial = acl.check(secretOf(request.headers, queryToken ? () => (request.query as { token?: unknown }).token : undefined), rightFor(access, request));
      if (!denial) return done();
      if (denial.status === 401) reply.header('www-authenticate', 'Bearer realm="beacon"');
      void reply.code(denial.status).send(errorBody(denial.status, denial.message));
    };
    route.onRequest = [...(Array.isArray(route.onRequest) ? route.onRequest : route.onRequest ? [route.onRequest] : []), check];
  });
}

function rightFor(access: Exclude<Access, 'open'>, request: FastifyRequest): Right {
  if (access === 'write') return { kind: 'write', service: (request.params as { service: string }).service };
  return { kind: access };
}

/**
 * The secret from `Authorization: Bearer <secret>`, else `X-Beacon-Token`, else
 * `X-Consul-Token` (what Consul clients such as Prometheus send), else, on routes that accept
 * it (`queryToken` reads it), `?token=` (what older Consul clients such as python-consul send);
 * undefined when none. The heartbeat fast path reads it from the headers alone, as its route does.
 */
export function secretOf(headers: IncomingHttpHeaders, queryToken?: () => unknown): string | undefined {
  const authorization = headers.authorization;
  if (authorization !== undefined) {
    const match = /^Bearer\s+(\S+)\s*$/i.exec(authorization);
    // A malformed Authorization is no token at all: the 401 says what to send.
    return match?.[1];
  }
  const header = headers['x-beacon-token'] ?? headers['x-consul-token'];
  if (typeof header === 'string') return header.trim();
  const parameter = queryToken?.();
  return typeof parameter === 'string' ? parameter : undefined;
}
