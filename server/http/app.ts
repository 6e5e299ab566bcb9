import fastifySwagger from '@fastify/swagger';
import fastifySwaggerUi from '@fastify/swagger-ui';
import type { ServerOptions as HttpsOptions } from 'node:https';
import secureJsonParse from 'secure-json-parse';
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyServerOptions, LogController, type onResponseHookHandler } from 'fastify';
import { jsonSchemaTransform, type ZodTypeProvider } from 'fastify-type-provider-zod';
import type { Acl } from '../acl/acl.js';
import type { Metrics } from '../metrics/metrics.js';
import type { Registry } from '../registry/registry.js';
import { enforceAccess } from './access.js';
import { ClientWaiters, DEFAULT_MAX_WAITERS_PER_CLIENT } from './blocking.js';
import { errorBody, installErrorHandling } from './errors.js';
import { aclRoutes } from './routes/acl.js';
import { consulRoutes } from './routes/consul.js';
import { heartbeatFastPath, serverWithFastPath } from './heartbeat-fast-path.js';
import { limitWrites } from './write-rate-limit.js';
import { operatorRoutes } from './routes/operator.js';
import { instanceRoutes } from './routes/instances.js';
import { serviceRoutes } from './routes/services.js';
import { systemRoutes } from './routes/system.js';
import { dashboardRoutes } from './routes/dashboard.js';
import { clusterRoutes } from './routes/cluster.js';
import { policyRoutes } from './routes/policies.js';
import type { ClusterStatus } from '../cluster/cluster-view.js';
import { formatProblems, responseSerializerCompiler, zodValidatorCompiler } from './validation.js';

declare module 'fastify' {
  interface FastifyInstance {
    registry: Registry;
    metrics: Metrics;
    /** Undefined when ACL is off. */
    acl: Acl | undefined;
    clientWaiters: ClientWaiters;
    cluster: ClusterStatus;
  }
}

export const BODY_LIMIT = 64 * 1024;

/**
 * How long a client may take to send its request: a slow-loris client holding sockets open by
 * trickling headers or a body is cut with 408. Not the answer's time: blocking queries wait
 * for minutes after their request arrived whole.
 */
export interface RequestTimeouts {
  headersMs: number;
  requestMs: number;
}

export const DEFAULT_TIMEOUTS: RequestTimeouts = { headersMs: 10_000, requestMs: 30_000 };

export interface AppOptions {
  registry: Registry;
  metrics: Metrics;
  /** Tokens to check on /v1 requests; absent: ACL off. */
  acl?: Acl;
  /** Writes a second per client address; 0 or absent: no limit. */
  writeRateLimit?: number;
  /** Blocking queries at once per client address (default 1,000). */
  maxWaitersPerClient?: number;
  /** Longest wait for a request's headers, then for the whole request (ms); see DEFAULT_TIMEOUTS. */
  timeouts?: RequestTimeouts;
  /** A pino level, or false for no logs (tests). */
  logLevel?: string | false;
  version?: string;
  /** The datacenter the Consul-compatible reads report (default dc1). */
  datacenter?: string;
  /** This node's link to its cluster; absent: a single node on SQLite. */
  cluster?: ClusterStatus;
  /** Serve HTTPS with these options (certificate, key, client verification); absent: plain HTTP. */
  https?: HttpsOptions;
}

export const DEFAULT_DATACENTER = 'dc1';

/**
 * The HTTP API as a fastify app: tests drive it with `inject()`, main listens with it.
 * Dependencies arrive as decorations, never as module-level singletons.
 */
export async function buildApp(options: AppOptions): Promise<FastifyInstance> {
  const logger: FastifyServerOptions['logger'] = options.logLevel === false ? false : { level: options.logLevel ?? 'info' };
  const timeouts = options.timeouts ?? DEFAULT_TIMEOUTS;
  // Bare heartbeats are answered before fastify's per-request machinery (heartbeat-fast-path.ts);
  // with --write-rate-limit every request goes through fastify, where the limit counts.
  const heartbeats = heartbeatFastPath({
    registry: options.registry,
    metrics: options.metrics,
    acl: options.acl,
    enabled: (options.writeRateLimit ?? 0) <= 0,
  });
  const app = Fastify({
    logger,
    serverFactory: serverWithFastPath(heartbeats),
    // Handed to the server factory; fastify also reads it to log an https:// address.
    ...(options.https ? { https: options.https } : {}),
    requestTimeout: timeouts.requestMs,
    // Node checks these timeouts every connectionsCheckingInterval (30 s by default): check
    // often enough that a 10 s limit means about 10 s.
    http: { headersTimeout: Math.min(timeouts.headersMs, timeouts.requestMs), connectionsCheckingInterval: Math.min(1_000, timeouts.headersMs) },
    bodyLimit: BODY_LIMIT,
    // One log line per request would cost more than a heartbeat itself; errors are still logged.
    logController: new LogController({ disableRequestLogging: true }),
    schemaErrorFormatter: formatProblems,
    return503OnClosing: true,
    // Ids may be 128 characters; a longer one must still reach validation for a clear 400.
    routerOptions: { maxParamLength: 512 },
    frameworkErrors: (error, _request, reply) => {
      void (reply as FastifyReply).code(400).send(errorBody(400, `url: ${error.message}`));
    },
  }).withTypeProvider<ZodTypeProvider>();

  heartbeats.logTo(app.log);
  app.setValidatorCompiler(zodValidatorCompiler);
  app.setSerializerCompiler(responseSerializerCompiler);
  app.decorate('registry', options.registry);
  app.decorate('metrics', options.metrics);
  app.decorate('acl', options.acl);
  const cluster = options.cluster ?? singleNode(options.registry);
  app.decorate('cluster', cluster);
  reportLastContact(app, cluster);
  app.decorate('clientWaiters', new ClientWaiters(options.maxWaitersPerClient ?? DEFAULT_MAX_WAITERS_PER_CLIENT));
  acceptJsonOnly(app);
  enforceAccess(app, options.acl);
  await limitWrites(app, options.writeRateLimit ?? 0);
  installErrorHandling(app, BODY_LIMIT, options.metrics);
  countRequests(app, options.metrics);
  // First of the preClose hooks (fastify is already closing): from here fastify answers 503.
  app.addHook('preClose', async () => heartbeats.close());
  // Blocked queries are answered (with the current list) rather than cut when the server stops.
  app.addHook('preClose', async () => options.registry.releaseWaiters());

  await app.register(fastifySwagger, {
    openapi: {
      openapi: '3.0.3',
      info: {
        title: 'Beacon registry API',
        description: 'Service registry and discovery: register instances, heartbeat, and read healthy instances.',
        version: options.version ?? '0.0.0',
      },
      tags: [
        { name: 'instances', description: 'Register and keep instances alive' },
        { name: 'services', description: 'Read services and instances (blocking queries)' },
        { name: 'policies', description: "A service's traffic policy, followed live by every beacon proxy (docs/proxy.md)" },
        { name: 'system', description: "The registry's own health and metrics" },
        { name: 'acl', description: 'Tokens (with --acl): create, list, revoke' },
        { name: 'operator', description: "The operator's controls: self-preservation" },
        { name: 'cluster', description: 'The nodes serving this registry (docs/cluster.md)' },
        { name: 'consul', description: 'Consul-compatible reads for discovery tools such as Prometheus (docs/integrations.md)' },
      ],
    },
    transform: jsonSchemaTransform,
  });
  await app.register(fastifySwaggerUi, { routePrefix: '/docs' });
  await app.register(systemRoutes);
  await app.register(serviceRoutes);
  await app.register(instanceRoutes);
  await app.register(policyRoutes);
  await app.register(aclRoutes);
  await app.register(operatorRoutes);
  await app.register(consulRoutes, { datacenter: options.datacenter ?? DEFAULT_DATACENTER, version: options.version ?? '0.0.0' });
  await app.register(dashboardRoutes);
  await app.register(clusterRoutes(cluster));
  await app.ready();
  return app;
}

/**
 * Only JSON bodies are accepted (anything else: 415). An empty body counts as no body, so a
 * bare heartbeat may still carry `content-type: application/json`.
 */
function acceptJsonOnly(app: FastifyInstance): void {
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (_request, body, done) => {
    const text = body as string;
    if (text.trim() === '') return done(null, undefined);
    // secure-json-parse (fastify's own parser) refuses __proto__ and constructor.prototype
    // keys; called directly, its SyntaxError keeps the reason for the error message.
    try {
      done(null, secureJsonParse.parse(text, { protoAction: 'error', constructorAction: 'error' }));
    } catch (error) {
      done(error as Error, undefined);
    }
  });
}

/**
 * Each route gets its own onResponse hook that already knows the route's URL: reading
 * `request.routeOptions` builds an options object on every request, which heartbeat throughput
 * showed (docs/benchmarks.md). Unmatched requests are
 * counted by the not-found handler (errors.ts).
 */
function countRequests(app: FastifyInstance, metrics: Metrics): void {
  const observe = metrics.observeHttp;
  app.addHook('onRoute', (route) => {
    const url = route.url;
    const count: onResponseHookHandler = (request, reply, done) => {
      observe(request.method, url, reply.statusCode, reply.elapsedTime / 1000);
      done();
    };
    const existing = route.onResponse;
    route.onResponse = existing === undefined ? [count] : [...(Array.isArray(existing) ? existing : [existing]), count];
  });
}

/** A registry that is one process on SQLite: the cluster is this node, and it is never out of contact. */
function singleNode(registry: Registry): ClusterStatus {
  const startedAt = new Date().toISOString();
  return {
    view: () => ({ store: 'sqlite', node: 'local', index: registry.catalogIndex(), nodes: [{ name: 'local', http: '', live: true, startedAt }] }),
    lastContactMs: () => undefined,
    peerSecret: () => undefined,
  };
}

/**
 * In a cluster every read says how long ago this node last heard from etcd (SPEC), so a client
 * of a node cut off from the cluster can tell how stale its answer may be.
 */
function reportLastContact(app: FastifyInstance, cluster: ClusterStatus): void {
  if (cluster.lastContactMs() === undefined && cluster.peerSecret() === undefined) return;
  app.addHook('onSend', async (request, reply) => {
    if (request.method !== 'GET') return;
    const ms = cluster.lastContactMs();
    if (ms !== undefined) reply.header('x-beacon-last-contact', String(ms));
  });
}
