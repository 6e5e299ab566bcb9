import { createServer, type IncomingMessage, type Server, type ServerOptions, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer, type ServerOptions as HttpsOptions } from 'node:https';
import { performance } from 'node:perf_hooks';
import type { FastifyBaseLogger, FastifyServerFactory } from 'fastify';
import type { Acl } from '../acl/acl.js';
import type { Metrics } from '../metrics/metrics.js';
import { type LiveInstance, toView } from '../registry/health.js';
import { DNS_LABEL, Instance, INSTANCE_ID_MAX_LENGTH, INSTANCE_ID_PATTERN } from '../../contract/instance.js';
import { isoTime } from '../registry/iso-time.js';
import type { Registry } from '../registry/registry.js';
import { secretOf } from './access.js';
import { errorBody } from './errors.js';
import { responseSerializerCompiler } from './validation.js';

/**
 * The bare heartbeat (`PUT /v1/services/<service>/instances/<id>/heartbeat`, no body), which
 * every client sends every ttl/3, answered before fastify sees it. Fastify's per-request
 * machinery (request and reply objects, hooks, route validation) costs more CPU than all of
 * Beacon's own work on a heartbeat, spread thin across it (docs/benchmarks.md): this path does
 * only what such a heartbeat needs.
 *
 * It serves the success path only. Whenever it has any doubt (another method or URL, a body or
 * a content-type, a name the route would refuse, a token the ACL would refuse, an instance the
 * registry does not know or whose heartbeat must be stored, a closing server) it touches
 * nothing and hands the request to fastify, which answers it exactly as before. What it does
 * answer is what the route answers: the same status, headers and bytes (test/server/http/
 * heartbeat-fast-path.test.ts compares them) and the same request metrics.
 */
export const HEARTBEAT_ROUTE = '/v1/services/:service/instances/:id/heartbeat';

const PREFIX = '/v1/services/';
const MIDDLE = '/instances/';
const SUFFIX = '/heartbeat';

export interface HeartbeatFastPathOptions {
  registry: Registry;
  metrics: Metrics;
  /** Undefined when ACL is off. */
  acl: Acl | undefined;
  /** False hands every request to fastify (with --write-rate-limit, whose counts live there). */
  enabled: boolean;
}

export interface HeartbeatFastPath {
  /**
   * Answers a bare heartbeat and says true, or says false having touched nothing. Never throws:
   * whatever it did not expect is answered as fastify answers an unexpected error (a logged 500).
   */
  answer(request: IncomingMessage, response: ServerResponse): boolean;
  /** Where unexpected errors are logged: fastify's logger, once the app exists. */
  logTo(log: FastifyBaseLogger): void;
  /** From now on fastify takes every request (and answers 503 while the server closes). */
  close(): void;
}

/**
 * The service and id of a heartbeat URL, when both are what the route's zod schemas accept
 * (ServiceName, InstanceId; same patterns) and need no percent-decoding; otherwise undefined.
 */
export function heartbeatPath(url: string): { service: string; id: string } | undefined {
  if (!url.startsWith(PREFIX) || !url.endsWith(SUFFIX)) return undefined;
  const middle = url.slice(PREFIX.length, url.length - SUFFIX.length);
  const split = middle.indexOf(MIDDLE);
  if (split < 0) return undefined;
  const service = middle.slice(0, split);
  const id = middle.slice(split + MIDDLE.length);
  // Neither pattern admits '/', '%', '?' or '#': a URL that passes routes to exactly these params.
  if (!DNS_LABEL.test(service) || id.length > INSTANCE_ID_MAX_LENGTH || !INSTANCE_ID_PATTERN.test(id)) return undefined;
  return { service, id };
}

/**
 * The route's 200 answer for a record just renewed in memory, in the serializer's own bytes.
 * Between two bare heartbeats only the two times at the end of the answer change: any durable
 * change makes a new record object, and a bare heartbeat always leaves the output empty. So
 * everything before the times is serialized once per record object (the first answer is the
 * serializer's whole, and the prefix is kept only if its tail is exactly the times). That
 * trades one string per instance for most of each answer's serializing (docs/benchmarks.md).
 */
export function heartbeatAnswers(serialize: (view: Instance) => string): (record: Readonly<LiveInstance>) => string {
  const prefixes = new WeakMap<Readonly<LiveInstance>, string>();
  const tailOf = (record: Readonly<LiveInstance>) => `"lastHeartbeatAt":"${isoTime(record.lastHeartbeatAt)}","expiresAt":"${isoTime(record.expiresAt)}"}`;
  return (record) => {
    const prefix = prefixes.get(record);
    if (prefix !== undefined) return prefix + tailOf(record);
    const whole = serialize(toView(record));
    const tail = tailOf(record);
    // Copied out flat, since a slice would keep the whole answer alive (V8 slices share their
    // parent's characters). The UTF-8 round trip is exact: the serializer escapes lone surrogates.
    if (whole.endsWith(tail)) prefixes.set(record, Buffer.from(whole.slice(0, whole.length - tail.length)).toString());
    return whole;
  };
}

export function heartbeatFastPath({ registry, metrics, acl, enabled }: HeartbeatFastPathOptions): HeartbeatFastPath {
  // The compiler fastify uses for the route's 200 answer, on the same schema: the same bytes.
  const answerFor = heartbeatAnswers(responseSerializerCompiler({ schema: Instance, method: 'PUT', url: HEARTBEAT_ROUTE, httpStatus: '200' }));
  const observe = metrics.observeHttp;
  let open = enabled;
  let log: FastifyBaseLogger | undefined;
  const serve = (request: IncomingMessage, response: ServerResponse, started: number): boolean => {
    if (!open || request.method !== 'PUT' || request.url === undefined) return false;
    const headers = request.headers;
    // A body, even an empty one announced by a content-type, is fastify's to parse or refuse.
    const length = headers['content-length'];
    if ((length !== undefined && length !== '0') || headers['transfer-encoding'] !== undefined || headers['content-type'] !== undefined) return false;
    const path = heartbeatPath(request.url);
    if (path === undefined) return false;
    const { service, id } = path;
    if (acl !== undefined && acl.check(secretOf(headers), { kind: 'write', service }) !== undefined) return false;
    const renewed = registry.renewInMemory(service, id);
    if (renewed === undefined) return false;
    const body = answerFor(renewed);
    response.writeHead(200, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(body) });
    response.end(body);
    observe('PUT', HEARTBEAT_ROUTE, 200, (performance.now() - started) / 1000);
    return true;
  };
  return {
    close() {
      open = false;
    },
    logTo(logger) {
      log = logger;
    },
    answer(request, response) {
      const started = performance.now();
      try {
        return serve(request, response, started);
      } catch (error) {
        // A bug here must cost one request, as it would in a fastify route, not the process.
        const details = { err: error, req: { method: request.method, url: request.url } };
        if (log) log.error(details, 'request failed');
        else console.error('request failed', details);
        if (!response.headersSent) {
          const body = JSON.stringify(errorBody(500, 'internal error: the server logged the details'));
          response.writeHead(500, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(body) });
          response.end(body);
        } else {
          response.destroy();
        }
        observe('PUT', HEARTBEAT_ROUTE, 500, (performance.now() - started) / 1000);
        return true;
      }
    },
  };
}

/**
 * Fastify's `serverFactory`: the node:http server fastify would create itself (the same options
 * and settings as fastify/lib/server.js gives its own), asking the fast path first.
 */
export function serverWithFastPath(fastPath: HeartbeatFastPath): FastifyServerFactory {
  return (handler, options) => {
    const settings = options as { http?: ServerOptions; https?: HttpsOptions | null; keepAliveTimeout?: number; requestTimeout?: number; connectionTimeout?: number; maxRequestsPerSocket?: number };
    const listener = (request: IncomingMessage, response: ServerResponse) => {
      if (!fastPath.answer(request, response)) handler(request, response);
    };
    // An https server is an http server under TLS: the same timeouts apply, the same fast path answers.
    const server: Server = settings.https ? (createHttpsServer({ ...settings.http, ...settings.https }, listener) as unknown as Server) : createServer(settings.http ?? {}, listener);
    // Fastify has filled in its defaults (keep-alive 72 s) before it calls the factory.
    if (settings.keepAliveTimeout !== undefined) server.keepAliveTimeout = settings.keepAliveTimeout;
    if (settings.requestTimeout !== undefined) server.requestTimeout = settings.requestTimeout;
    if (settings.connectionTimeout !== undefined) server.setTimeout(settings.connectionTimeout);
    if (settings.maxRequestsPerSocket !== undefined && settings.maxRequestsPerSocket > 0) server.maxRequestsPerSocket = settings.maxRequestsPerSocket;
    return server;
  };
}
