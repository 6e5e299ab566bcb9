import { readFileSync } from 'node:fs';
import type { Server as HttpsServer } from 'node:https';
import { hostname } from 'node:os';
import type { FastifyInstance } from 'fastify';
import { Acl } from './acl/acl.js';
import { type Clock, systemClock } from '../contract/clock.js';
import { ListenError } from '../contract/listen-error.js';
import type { ServerConfig } from './config.js';
import { Responder } from './dns/responder.js';
import { ZoneRecords } from './dns/records.js';
import { type DnsServer, startDnsServer } from './dns/server.js';
import { Zone } from './dns/zone.js';
import { Housekeeping, type HousekeepingOptions } from './housekeeping.js';
import { buildApp } from './http/app.js';
import { Metrics } from './metrics/metrics.js';
import { packageRoot } from './paths.js';
import { Registry } from './registry/registry.js';
import { DEFAULT_SELF_PRESERVATION } from './registry/self-preservation.js';
import { MemoryStore } from './store/memory/memory-store.js';
import type { TokenStore } from './store/store.js';
import { openRegistryStore } from './cluster/registry-store.js';
import { ApiTlsReloader, httpsOptions, readApiTls } from './tls/api-tls.js';

export interface Beacon {
  app: FastifyInstance;
  registry: Registry;
  /** e.g. http://127.0.0.1:8500 */
  httpUrl: string;
  /** The DNS port, UDP and TCP. */
  dnsPort: number;
  /** Graceful stop: answers blocked queries, closes listeners, persists liveness, closes the database. */
  close(): Promise<void>;
  /** SIGHUP: reads the HTTP API's TLS files again (a no-op without --tls-cert). */
  reload(): void;
}

export interface StartOptions {
  clock?: Clock;
  housekeeping?: HousekeepingOptions;
}

const SHUTDOWN_GRACE_MS = 1_000;

export const version: string = (JSON.parse(readFileSync(`${packageRoot}package.json`, 'utf8')) as { version: string }).version;

/** Wires store → registry → HTTP and starts listening. Everything is built here, nowhere else. */
export async function startBeacon(config: ServerConfig, options: StartOptions = {}): Promise<Beacon> {
  // Read before anything opens: a bad file stops the start with the flag's name, nothing to undo.
  const served = config.tls ? readApiTls(config.tls) : undefined;
  const metrics = new Metrics();
  const tlsEvents = served ? metrics.observeTls(served.expiresAt) : undefined;
  let app: FastifyInstance | undefined;
  const stores = await openRegistryStore(config, () => app?.log, metrics);
  const { store } = stores;
  let registry: Registry;
  try {
    const clock = options.clock ?? systemClock;
    registry = new Registry({
      store,
      clock,
      ...(stores.owns ? { owns: stores.owns } : {}),
      expiryGraceMs: stores.expiryGraceMs,
      events: metrics.registryEvents,
      selfPreservation: { ...DEFAULT_SELF_PRESERVATION, share: config.selfPreservation },
      caps: { instances: config.maxInstances, instancesPerService: config.maxInstancesPerService },
    });
    metrics.observe(registry);
    const acl = config.acl ? await openAcl(stores.tokens, clock, config.aclBootstrapToken) : undefined;
    const cluster = stores.status(() => registry.catalogIndex());
    app = await buildApp({ registry, metrics, cluster, ...(acl ? { acl } : {}), writeRateLimit: config.writeRateLimit,
      maxWaitersPerClient: config.maxWaitersPerClient,
      timeouts: { headersMs: config.headerTimeoutMs, requestMs: config.requestTimeoutMs },
      logLevel: config.logLevel, version, datacenter: config.datacenter,
      ...(config.tls && served ? { https: httpsOptions(config.tls, served) } : {}) });
  } catch (error) {
    await stores.close();
    throw error;
  }
  const loadedFrom = config.etcd.length > 0 ? { etcd: config.etcd.join(','), node: config.nodeName } : { db: config.db };
  app.log.info({ ...loadedFrom, instances: registry.countByStatus() }, 'registry loaded');
  const housekeeping = new Housekeeping(registry, app.log, metrics, {
    ...(stores.livenessIntervalMs ? { flushIntervalMs: stores.livenessIntervalMs } : {}),
    ...options.housekeeping,
  });

  let httpUrl: string;
  try {
    // Fastify's own line is the one log line per listener: `HTTP API listening on <url>`.
    await app.listen({ host: config.bind, port: config.httpPort, listenTextResolver: (url) => `HTTP API listening on ${url}` });
    const address = app.server.address();
    const port = typeof address === 'object' && address ? address.port : config.httpPort;
    const scheme = config.tls ? 'https' : 'http';
    httpUrl = `${scheme}://${config.bind.includes(':') ? `[${config.bind}]` : config.bind}:${port}`;
    // The other nodes reach this one where it binds, or by its host name when it binds every interface.
    await stores.announce(config.bind === '0.0.0.0' || config.bind === '::' ? `${scheme}://${hostname()}:${port}` : httpUrl);
  } catch (error) {
    housekeeping.stop();
    await app.close();
    await stores.close();
    throw new ListenError('HTTP', config.bind, config.httpPort, error);
  }

  let dns: DnsServer;
  try {
    dns = await startDnsServer({
      host: config.bind,
      port: config.dnsPort,
      responder: dnsResponder(config, registry),
      metrics,
      log: app.log,
      udpRateLimit: config.dnsRateLimit,
    });
  } catch (error) {
    housekeeping.stop();
    await app.close();
    await stores.close();
    throw new ListenError((error as { listener?: string }).listener ?? 'DNS', config.bind, config.dnsPort, error);
  }

  const tls = config.tls && tlsEvents ? new ApiTlsReloader(config.tls, app.server as unknown as HttpsServer, tlsEvents, app.log) : undefined;
  let closed: Promise<void> | undefined;
  return {
    app,
    registry,
    httpUrl,
    dnsPort: dns.port,
    close: () =>
      (closed ??= (async () => {
        await dns.close();
        // Requests in flight (blocked queries were just answered) get a moment to finish; then
        // any connection still open, such as one a client opened but never used, is cut.
        const deadline = setTimeout(() => app.server.closeAllConnections(), SHUTDOWN_GRACE_MS);
        await app.close();
        clearTimeout(deadline);
        housekeeping.stop();
        await stores.close();
        app.log.info('stopped: listeners closed, heartbeat times written, database closed');
      })()),
    reload() {
      if (tls) tls.reload();
      else app.log.info('SIGHUP: nothing to reload (the HTTP API serves plain HTTP)');
    },
  };
}

/**
 * The HTTP app over an empty registry kept only in memory: no database, no listener, no
 * housekeeping. `npm run openapi` reads the document the server serves from it.
 */
export function buildMemoryApp(): Promise<FastifyInstance> {
  const registry = new Registry({ store: new MemoryStore(), clock: systemClock });
  return buildApp({ registry, metrics: new Metrics(), logLevel: false, version });
}

/** The token checker for --acl; refuses to start when nobody could ever administer tokens. */
async function openAcl(store: TokenStore, clock: Clock, bootstrapSecret: string): Promise<Acl> {
  const acl = await Acl.open(store, clock, bootstrapSecret || undefined);
  if (!acl.hasManagementToken) {
    throw new Error('--acl needs a management token: give one with --acl-bootstrap-token (or BEACON_ACL_BOOTSTRAP_TOKEN)');
  }
  return acl;
}

function dnsResponder(config: ServerConfig, registry: Registry): Responder {
  const zone = new Zone(config.domain);
  return new Responder({
    zone,
    records: new ZoneRecords(registry, zone, config.dnsTtl),
    ttl: config.dnsTtl,
    udpMax: config.dnsUdpMax,
    serial: () => registry.catalogIndex(),
    nameserverAddress: config.bind,
  });
}
