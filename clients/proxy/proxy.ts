import { createServer as createHttpServer, type Server as HttpServer } from 'node:http';
import type { AddressInfo, Server } from 'node:net';
import { createServer as createTcpServer } from 'node:net';
import pino, { type Logger } from 'pino';
import { ListenError } from '../../contract/listen-error.js';
import type { Instance } from '../../contract/instance.js';
import { createPolicy } from '../balancing/policy.js';
import { InstanceWatcher } from '../registry/instance-watcher.js';
import { type Upstream, UpstreamPool, type UpstreamPoolHooks } from '../upstream/upstream-pool.js';
import { adminHandler } from './admin.js';
import { HttpForwarder } from './http-forwarder.js';
import type { ListenAddress, ProxyConfig } from './proxy-config.js';
import { ProxyMetrics } from './proxy-metrics.js';
import { TcpForwarder } from './tcp-forwarder.js';

/** How long a stop waits for requests in flight before cutting their connections. */
const SHUTDOWN_GRACE_MS = 1_000;
/** How long start waits for the first instance list before listening anyway (answering 503 meanwhile). */
const FIRST_LIST_WAIT_MS = 5_000;

export interface RunningProxy {
  /** Where clients connect (the real port when --listen asked for port 0). */
  address: AddressInfo;
  adminAddress: AddressInfo;
  pool: UpstreamPool;
  metrics: ProxyMetrics;
  log: Logger;
  close(): Promise<void>;
}

/**
 * `beacon proxy`, wired: the watcher follows the service's healthy instances through blocking
 * queries, the pool balances over them with a breaker each, and a forwarder (HTTP or TCP)
 * carries the traffic. The admin listener serves /metrics, /stats and /healthz.
 */
export async function startProxy(config: ProxyConfig, log: Logger = pino({ level: config.logLevel })): Promise<RunningProxy> {
  const watcher = new InstanceWatcher({
    registry: config.registry,
    service: config.service,
    ...(config.tag ? { tag: config.tag } : {}),
    ...(config.token ? { token: config.token } : {}),
  });
  let registryReachable = false;
  let forgetConnections: (upstream: Upstream) => void = () => {};
  const hooks: UpstreamPoolHooks = {};
  const pool = new UpstreamPool({
    policy: createPolicy<Upstream>(config.policy),
    breaker: config.breaker,
    panicThreshold: config.panicThreshold,
    maxEjectedShare: config.maxEjectedShare,
    hooks,
  });
  const metrics = new ProxyMetrics({ pool, registryReachable: () => registryReachable });
  Object.assign(hooks, loggedPoolHooks(metrics.poolHooks, log), { removed: (upstream: Upstream) => forgetConnections(upstream) });

  watcher.on('change', (instances, index) => {
    registryReachable = true;
    pool.update(instances.map(toUpstreamAddress));
    log.info({ service: config.service, instances: instances.length, index }, 'instance set changed');
  });
  watcher.on('unreachable', (error, retryInMs) => {
    registryReachable = false;
    log.warn({ err: error.message, retryInMs, instances: pool.members.length }, 'registry unreachable: forwarding to the last known instances');
  });
  watcher.on('reconnected', () => {
    registryReachable = true;
    log.info({}, 'registry reachable again');
  });
  watcher.start();
  await firstList(watcher, log);

  let server: Server;
  let httpServer: HttpServer | undefined;
  let stopForwarder: () => Promise<void> | void;
  if (config.mode === 'http') {
    const forwarder = new HttpForwarder({
      service: config.service,
      pool,
      metrics,
      retries: config.retries,
      tryTimeoutMs: config.tryTimeoutMs,
      timeoutMs: config.timeoutMs,
      ...(config.accessLog ? { accessLog: log.child({ log: 'access' }, { level: 'info' }) } : {}),
    });
    forgetConnections = (upstream) => forwarder.forget(upstream);
    server = httpServer = createHttpServer(forwarder.handle);
    httpServer.on('upgrade', forwarder.handleUpgrade);
    stopForwarder = () => forwarder.close();
  } else {
    const forwarder = new TcpForwarder({ pool, metrics, retries: config.retries, connectTimeoutMs: config.tryTimeoutMs, idleTimeoutMs: config.tcpIdleTimeoutMs });
    server = createTcpServer({ allowHalfOpen: true }, forwarder.handle);
    stopForwarder = () => forwarder.close();
  }
  const admin = createHttpServer(adminHandler({ config, pool, metrics, watcher, registryReachable: () => registryReachable }));

  try {
    await listen(server, config.listen, `${config.mode.toUpperCase()} proxy`);
    await listen(admin, config.admin, 'proxy admin');
  } catch (error) {
    server.close();
    await watcher.close();
    await stopForwarder();
    throw error;
  }
  const address = server.address() as AddressInfo;
  const adminAddress = admin.address() as AddressInfo;
  log.info({ service: config.service, mode: config.mode, policy: config.policy }, `proxy listening on ${config.mode}://${hostPort(address)}`);
  log.info({}, `proxy admin listening on http://${hostPort(adminAddress)}`);

  let closing: Promise<void> | undefined;
  const close = () =>
    (closing ??= (async () => {
      const stopped = Promise.all([closeServer(server), closeServer(admin)]);
      httpServer?.closeIdleConnections();
      const grace = setTimeout(() => {
        httpServer?.closeAllConnections();
        admin.closeAllConnections();
        void stopForwarder();
      }, SHUTDOWN_GRACE_MS);
      await watcher.close();
      await stopped;
      clearTimeout(grace);
      await stopForwarder();
    })());
  return { address, adminAddress, pool, metrics, log, close };
}

async function firstList(watcher: InstanceWatcher, log: Logger): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<'timeout'>((resolve) => (timer = setTimeout(() => resolve('timeout'), FIRST_LIST_WAIT_MS)));
  const outcome = await Promise.race([watcher.ready().then(() => 'ready' as const, () => 'closed' as const), timeout]);
  clearTimeout(timer);
  if (outcome === 'timeout') log.warn({}, `no instance list from the registry within ${FIRST_LIST_WAIT_MS} ms: listening anyway, answering 503 until one arrives`);
}

function toUpstreamAddress(instance: Instance) {
  return { id: instance.id, address: instance.address, port: instance.port, weight: instance.weight };
}

/** The metrics' hooks, plus a log line for every breaker transition and ejection refused. */
function loggedPoolHooks(hooks: UpstreamPoolHooks, log: Logger): UpstreamPoolHooks {
  return {
    ...hooks,
    transition(transition, upstream) {
      hooks.transition?.(transition, upstream);
      const level = transition === 'trip' || transition === 'retrip' ? 'warn' : 'info';
      log[level]({ instance: upstream.id, address: upstream.hostPort, transition, state: upstream.breaker.state }, `circuit breaker ${transition}`);
    },
    ejectionRefused(upstream) {
      hooks.ejectionRefused?.(upstream);
      log.warn({ instance: upstream.id }, 'breaker kept closed: the max-ejection share is reached');
    },
  };
}

function listen(server: Server, where: ListenAddress, listener: string): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', (error) => reject(new ListenError(listener, where.host, where.port, error)));
    server.listen(where.port, where.host, () => resolve());
  });
}

function closeServer(server: Server): Promise<void> {
  return new Promise((resolve) => server.close(() => resolve()));
}

function hostPort(address: AddressInfo): string {
  return address.family === 'IPv6' ? `[${address.address}]:${address.port}` : `${address.address}:${address.port}`;
}
