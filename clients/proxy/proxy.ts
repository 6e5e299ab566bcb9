import { createServer as createHttpServer, type Server as HttpServer } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo, Server } from 'node:net';
import { createServer as createTcpServer } from 'node:net';
import { createServer as createTlsServer, type TlsOptions } from 'node:tls';
import pino, { type Logger } from 'pino';
import { ListenError } from '../../contract/listen-error.js';
import { PolicyInForce } from '../policy/policy-in-force.js';
import { InstanceWatcher } from '../registry/instance-watcher.js';
import { PolicyWatcher } from '../registry/policy-watcher.js';
import { TrafficRouter } from '../upstream/traffic-split.js';
import type { Upstream, UpstreamPoolHooks } from '../upstream/upstream-pool.js';
import { adminHandler } from './admin.js';
import { HttpForwarder } from './http-forwarder.js';
import { PolicyFollower, toUpstreamAddress } from './policy-follower.js';
import { withTlsAdvice } from '../tls/registry-tls.js';
import { type ListenAddress, type ListenTls, policyDefaults, type ProxyConfig, registryHop } from './proxy-config.js';
import { ProxyMetrics } from './proxy-metrics.js';
import { TcpForwarder } from './tcp-forwarder.js';
import { loggedTlsWatcher, UpstreamTls } from './upstream-tls.js';

/** How long a stop waits for requests in flight before cutting their connections. */
const SHUTDOWN_GRACE_MS = 1_000;
/** How long start waits for the first instance list (and policy) before listening anyway (answering 503 meanwhile, with the flags' policy). */
const FIRST_LIST_WAIT_MS = 5_000;

export interface RunningProxy {
  /** Where clients connect (the real port when --listen asked for port 0). */
  address: AddressInfo;
  adminAddress: AddressInfo;
  /** The service's instances by group (split, failover), each group an UpstreamPool. */
  pool: TrafficRouter;
  policy: PolicyInForce;
  metrics: ProxyMetrics;
  log: Logger;
  close(): Promise<void>;
}

/**
 * `beacon proxy`, wired: one watcher follows the service's healthy instances and another its
 * traffic policy, both through blocking queries; the router groups the instances (split,
 * failover) into pools that balance with a breaker each; a forwarder (HTTP or TCP) carries the
 * traffic, reading the policy in force per request. The admin listener serves /metrics,
 * /stats and /healthz.
 */
export async function startProxy(config: ProxyConfig, log: Logger = pino({ level: config.logLevel })): Promise<RunningProxy> {
  const watcher = new InstanceWatcher({ ...registryHop(config), service: config.service, ...(config.tag ? { tag: config.tag } : {}) });
  const policyWatcher = new PolicyWatcher({ ...registryHop(config), service: config.service });
  let registryReachable = false;
  let forgetConnections: (upstream: Upstream) => void = () => {};
  const hooks: UpstreamPoolHooks = {};
  const policy = new PolicyInForce(policyDefaults(config));
  const follower = new PolicyFollower(config, policy, hooks, log);
  const pool = new TrafficRouter({ newPool: follower.newPool, follow: follower.follow });
  const metrics = new ProxyMetrics({ pool, registryReachable: () => registryReachable, policyIndex: () => policy.index });
  Object.assign(hooks, loggedPoolHooks(metrics.poolHooks, log), { removed: (upstream: Upstream) => forgetConnections(upstream) });

  policy.on('change', (change) => {
    follower.apply(pool, change);
    metrics.policyChanged();
  });
  policyWatcher.on('change', (registered, index) => policy.apply(registered, index));
  policyWatcher.on('unreachable', (error, retryInMs) => log.warn({ err: withTlsAdvice(error), retryInMs }, 'registry unreachable: keeping the traffic policy in force'));
  watcher.on('change', (instances, index) => {
    registryReachable = true;
    pool.update(instances.map((instance) => ({ ...toUpstreamAddress(instance), tags: instance.tags })));
    log.info({ service: config.service, instances: instances.length, index }, 'instance set changed');
  });
  watcher.on('unreachable', (error, retryInMs) => {
    registryReachable = false;
    log.warn({ err: withTlsAdvice(error), retryInMs, instances: pool.members.length }, 'registry unreachable: forwarding to the last known instances');
  });
  watcher.on('reconnected', () => {
    registryReachable = true;
    log.info({}, 'registry reachable again');
  });
  watcher.start();
  policyWatcher.start();
  await firstAnswers(watcher, policyWatcher, log);

  let server: Server;
  let httpServer: HttpServer | undefined;
  let stopForwarder: () => Promise<void> | void;
  const { listenTls } = config;
  const upstreamTls = config.upstreamTls ? new UpstreamTls(config.upstreamTls, loggedTlsWatcher(metrics, log)) : undefined;
  if (config.mode === 'http') {
    const forwarder = new HttpForwarder({
      service: config.service,
      pool,
      metrics,
      policy: policy.read,
      ...(config.accessLog ? { accessLog: log.child({ log: 'access' }, { level: 'info' }) } : {}),
      ...(upstreamTls ? { upstreamTls } : {}),
      clientProto: listenTls ? 'https' : 'http',
    });
    forgetConnections = (upstream) => forwarder.forget(upstream);
    // An https.Server is an http.Server over TLS: the same handlers, upgrades included.
    server = httpServer = listenTls ? (createHttpsServer(listenerTlsOptions(listenTls), forwarder.handle) as unknown as HttpServer) : createHttpServer(forwarder.handle);
    httpServer.on('upgrade', forwarder.handleUpgrade);
    stopForwarder = () => forwarder.close();
  } else {
    const forwarder = new TcpForwarder({
      pool,
      metrics,
      policy: policy.read,
      idleTimeoutMs: config.tcpIdleTimeoutMs,
      ...(upstreamTls ? { connector: upstreamTls.connect } : {}),
    });
    server = listenTls ? createTlsServer({ ...listenerTlsOptions(listenTls), allowHalfOpen: true }, forwarder.handle) : createTcpServer({ allowHalfOpen: true }, forwarder.handle);
    stopForwarder = () => forwarder.close();
  }
  if (listenTls) {
    server.on('tlsClientError', (error: NodeJS.ErrnoException, socket: { remoteAddress?: string }) => {
      metrics.clientTlsFailed();
      log.debug({ client: socket.remoteAddress, reason: error.code, err: error.message }, 'client TLS handshake failed');
    });
  }
  const admin = createHttpServer(adminHandler({ config, pool, policy, metrics, watcher, registryReachable: () => registryReachable }));

  try {
    await listen(server, config.listen, `${config.mode.toUpperCase()} proxy`);
    await listen(admin, config.admin, 'proxy admin');
  } catch (error) {
    server.close();
    await Promise.all([watcher.close(), policyWatcher.close(), pool.close()]);
    await stopForwarder();
    throw error;
  }
  const address = server.address() as AddressInfo;
  const adminAddress = admin.address() as AddressInfo;
  const scheme = config.mode === 'http' ? (listenTls ? 'https' : 'http') : listenTls ? 'tls' : 'tcp';
  log.info(
    { service: config.service, mode: config.mode, policy: policy.policy.balancing, policyIndex: policy.index, clientCertificates: listenTls?.clientCa ? 'required' : 'none', upstreamTls: Boolean(upstreamTls) },
    `proxy listening on ${scheme}://${hostPort(address)}`,
  );
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
      await Promise.all([watcher.close(), policyWatcher.close(), pool.close()]);
      await stopped;
      clearTimeout(grace);
      await stopForwarder();
    })());
  return { address, adminAddress, pool, policy, metrics, log, close };
}

/** The listener's TLS: with a client CA, a client without a certificate it signed is refused at the handshake. */
function listenerTlsOptions(tls: ListenTls): TlsOptions {
  const { cert, key, clientCa } = tls;
  return clientCa ? { cert, key, ca: clientCa, requestCert: true, rejectUnauthorized: true } : { cert, key };
}

/** Waits (boundedly) for the instance list and the policy, so the first requests follow the policy too. */
async function firstAnswers(watcher: InstanceWatcher, policyWatcher: PolicyWatcher, log: Logger): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<'timeout'>((resolve) => (timer = setTimeout(() => resolve('timeout'), FIRST_LIST_WAIT_MS)));
  const policyKnown = policyWatcher.isKnown ? Promise.resolve() : new Promise<void>((resolve) => policyWatcher.once('change', () => resolve()));
  const outcome = await Promise.race([Promise.all([watcher.ready(), policyKnown]).then(() => 'ready' as const, () => 'closed' as const), timeout]);
  clearTimeout(timer);
  if (outcome === 'timeout') log.warn({}, `no instance list or policy from the registry within ${FIRST_LIST_WAIT_MS} ms: listening anyway, answering 503 until one arrives`);
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
