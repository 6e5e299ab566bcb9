import { createServer, type IncomingMessage, type RequestListener, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { hostname } from 'node:os';
import pino, { type Logger } from 'pino';
import { collectDefaultMetrics, Counter, Registry as MetricsRegistry } from 'prom-client';
import { ListenError } from '../../contract/listen-error.js';
import type { Instance } from '../../contract/instance.js';
import { RegistryClient } from '../registry/registry-client.js';
import { withTlsAdvice } from '../tls/registry-tls.js';
import { advertisedAddress } from './advertised-address.js';
import { type DemoServiceConfig, defaultInstanceId } from './demo-service-config.js';

/** How long a stop waits for requests in flight before cutting their connections. */
const SHUTDOWN_GRACE_MS = 1_000;

/** What `GET /` answers: enough to see which instance a balanced request reached. */
export interface DemoAnswer {
  service: string;
  instance: string;
  address: string;
  port: number;
  weight: number;
  tags: string[];
  hostname: string;
  pid: number;
  /** Requests this instance has answered on `/` (and other paths), this one included. */
  requests: number;
  method: string;
  path: string;
}

export interface RunningDemoService {
  /** Where it listens (the real port when --listen asked for port 0). */
  address: AddressInfo;
  /** The instance id and the address:port registered. */
  instance: { service: string; id: string; address: string; port: number };
  /** Settles with the first acknowledged registration; rejects when the registry refuses it (a 4xx) or on close first. */
  registered: Promise<Instance>;
  log: Logger;
  close(): Promise<void>;
}

/**
 * A tiny HTTP service that joins the mesh as a real one would: it listens first, then
 * registers itself with RegistryClient (heartbeats every ttl/3, re-registers when the registry
 * lost it), and on close deregisters before it stops serving, so the proxy and DNS have
 * dropped it by the time its listener goes away. Any path answers who served it
 * (`DemoAnswer`); `/healthz` and `/metrics` (Prometheus) are the usual companions.
 */
export async function startDemoService(config: DemoServiceConfig, log: Logger = pino({ level: config.logLevel })): Promise<RunningDemoService> {
  const metrics = new MetricsRegistry();
  collectDefaultMetrics({ register: metrics });
  const requests = new Counter({
    name: 'demo_http_requests_total',
    help: 'HTTP requests answered, by handler (echo: any path but /healthz and /metrics) and status code',
    labelNames: ['handler', 'status'] as const,
    registers: [metrics],
  });

  let served = 0;
  let stopping = false;
  // Filled in once the port is known; a request that races the start sees the configured values.
  const instance = { service: config.service, id: config.id ?? config.service, address: config.listen.host, port: config.listen.port };

  const send = (response: ServerResponse, handler: string, status: number, contentType: string, body: string) => {
    requests.inc({ handler, status: String(status) });
    response.writeHead(status, { 'content-type': contentType, 'content-length': Buffer.byteLength(body) });
    response.end(body);
  };
  const handle: RequestListener = (request: IncomingMessage, response: ServerResponse) => {
    request.resume();
    const path = (request.url ?? '/').split('?')[0] ?? '/';
    if (path === '/healthz') {
      return send(response, 'healthz', stopping ? 503 : 200, 'application/json', JSON.stringify({ status: stopping ? 'stopping' : 'ok' }));
    }
    if (path === '/metrics') {
      metrics.metrics().then(
        (text) => send(response, 'metrics', 200, metrics.contentType, text),
        (error: Error) => send(response, 'metrics', 500, 'application/json', JSON.stringify({ error: `metrics failed: ${error.message}` })),
      );
      return;
    }
    served += 1;
    const answer: DemoAnswer = {
      service: instance.service,
      instance: instance.id,
      address: instance.address,
      port: instance.port,
      weight: config.weight,
      tags: config.tags,
      hostname: hostname(),
      pid: process.pid,
      requests: served,
      method: request.method ?? 'GET',
      path,
    };
    send(response, 'echo', 200, 'application/json', `${JSON.stringify(answer)}\n`);
  };
  // With --listen-tls-*: HTTPS, as an instance behind a proxy that verifies its instances.
  const server: Server = config.listenTls ? (createHttpsServer({ cert: config.listenTls.cert, key: config.listenTls.key }, handle) as unknown as Server) : createServer(handle);

  await listen(server, config.listen.host, config.listen.port);
  const address = server.address() as AddressInfo;
  try {
    instance.address = await advertisedAddress(config.listen.host, config.advertise);
  } catch (error) {
    server.close();
    throw new Error(`cannot tell which address to register for ${config.listen.host}: ${(error as Error).message}; give --advertise`);
  }
  instance.port = address.port;
  instance.id = config.id ?? defaultInstanceId(config.service, address.port);

  let client: RegistryClient;
  try {
    client = new RegistryClient({
      registry: config.registry,
      service: config.service,
      id: instance.id,
      registration: { address: instance.address, port: instance.port, weight: config.weight, tags: config.tags, ttl: config.ttl },
      ...(config.token ? { token: config.token } : {}),
      ...(config.registryTls ? { tls: config.registryTls } : {}),
    });
  } catch (error) {
    server.close();
    throw error;
  }
  const where = `${instance.address.includes(':') ? `[${instance.address}]` : instance.address}:${instance.port}`;
  client.on('registered', () => log.info(`registered ${instance.service}/${instance.id} as ${where} with ${config.registry}`));
  client.on('reregistered', () => log.info('the registry had lost this instance: registered it again'));
  client.on('unreachable', (error, retryInMs) => log.warn({ err: withTlsAdvice(error), retryInMs: Math.round(retryInMs) }, 'registry unreachable: retrying'));
  log.info(`demo service listening on ${config.listenTls ? 'https' : 'http'}://${hostPort(address)}`);

  // Not awaited: a service serves while the registry is away, and a stop must not wait for it.
  const registered = client.start();
  registered.catch(() => {}); // the caller decides what a refusal means (main exits 1)

  let closing: Promise<void> | undefined;
  const close = () =>
    (closing ??= (async () => {
      stopping = true;
      // Leave the registry first: the proxy and DNS drop the instance before its listener goes.
      try {
        await client.close();
        log.info(`deregistered ${instance.service}/${instance.id}`);
      } catch (error) {
        log.warn({ err: (error as Error).message }, `could not deregister ${instance.service}/${instance.id}: it turns critical after its ${config.ttl} s TTL`);
      }
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeIdleConnections();
      const grace = setTimeout(() => server.closeAllConnections(), SHUTDOWN_GRACE_MS);
      await closed;
      clearTimeout(grace);
    })());

  return { address, instance, registered, log, close };
}

function listen(server: Server, host: string, port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', (error) => reject(new ListenError('the demo service', host, port, error)));
    server.listen(port, host, () => resolve());
  });
}

function hostPort(address: AddressInfo): string {
  return address.family === 'IPv6' ? `[${address.address}]:${address.port}` : `${address.address}:${address.port}`;
}
