import { readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { Agent, request } from 'undici';
import { InstanceWatcher } from '../registry/instance-watcher.js';
import { readTlsFiles } from '../tls/tls-files.js';
import { type ChildCommand, type ChildExit } from './child-command.js';
import { DEMO_INSTANCES, DEMO_SERVICE, type DemoConfig } from './demo-config.js';
import type { DemoTls } from './demo-tls.js';

/** The longest the whole start may take: a registry, three services and a proxy are up in about a second. */
const START_TIMEOUT_MS = 20_000;
/** How long each process gets to stop after SIGTERM before it is killed. */
const STOP_TIMEOUT_MS = 5_000;
const POLL_INTERVAL_MS = 100;

export class DemoStartError extends Error {}

/** Starts a named `beacon` command (run-demo.ts decides how its output is shown). */
export type Launch = (name: string, args: string[]) => ChildCommand;

export interface DemoEndpoints {
  registry: string;
  proxy: string;
  admin: string;
}

/**
 * The demo's processes and their order: the registry first; then the three instances of `web`
 * and the proxy; the demo is up when the registry has the three passing and the proxy both
 * knows them and answers. Stopping goes the other way: the proxy, the services (which
 * deregister), the registry last.
 */
export class DemoTopology {
  readonly endpoints: DemoEndpoints;
  registry: ChildCommand | undefined;
  proxy: ChildCommand | undefined;
  readonly services: ChildCommand[] = [];
  /** With `--tls`: how the demo itself asks the proxy, trusting the demo CA. */
  private readonly trustingDemoCa: Agent | undefined;

  constructor(
    private readonly config: DemoConfig,
    private readonly launch: Launch,
    /** With `--tls`: the registry, the instances and the proxy serve https with these, and every client trusts the CA. */
    private readonly tls?: DemoTls,
  ) {
    this.endpoints = {
      registry: `${tls ? 'https' : 'http'}://127.0.0.1:${config.httpPort}`,
      proxy: `${tls ? 'https' : 'http'}://127.0.0.1:${config.proxyPort}`,
      admin: `http://127.0.0.1:${config.adminPort}`,
    };
    this.trustingDemoCa = tls ? new Agent({ connect: { ca: readFileSync(tls.caCert) } }) : undefined;
  }

  get children(): ChildCommand[] {
    return [this.registry, ...this.services, this.proxy].filter((child): child is ChildCommand => child !== undefined);
  }

  /**
   * Starts everything and waits until it works end to end. Throws DemoStartError naming what
   * failed: a process that exited (with its last log lines), the deadline, or `abort`. Whatever
   * was started is left running for stop().
   */
  async start(abort: AbortSignal): Promise<void> {
    const done = new AbortController();
    const deadline = Date.now() + START_TIMEOUT_MS;
    const step = <T>(what: string, work: (signal: AbortSignal) => Promise<T>) => this.within(what, work(done.signal), deadline, abort);
    try {
      const { config, endpoints, tls } = this;
      // The registry hop of every client: the demo's CA instead of the system's.
      const trustDemoCa = tls ? ['--tls-ca', tls.caCert] : [];
      // Every other hop too: the instances serve HTTPS, the proxy verifies them against the demo
      // CA and serves HTTPS itself. One certificate (127.0.0.1, localhost) serves every server.
      const serveTls = tls ? ['--listen-tls-cert', tls.registry.cert, '--listen-tls-key', tls.registry.key] : [];
      const verifyInstances = tls ? ['--upstream-tls-ca', tls.caCert] : [];
      this.registry = this.launch('registry', [
        'server', '--bind', '127.0.0.1', '--http-port', String(config.httpPort), '--dns-port', String(config.dnsPort), '--db', config.db, '--log-level', 'info',
        ...(tls ? ['--tls-cert', tls.registry.cert, '--tls-key', tls.registry.key] : []),
      ]);
      const registry = this.registry;
      // DNS over TCP is the last listener the server starts.
      await step('the registry to listen', () => registry.waitForMessage(/^DNS listening on tcp:/));

      for (const [i, instance] of DEMO_INSTANCES.entries()) {
        this.services.push(
          this.launch(instance.id, [
            'demo-service', '--service', DEMO_SERVICE, '--id', instance.id, '--listen', `127.0.0.1:${config.basePort + i}`, '--registry', endpoints.registry,
            '--weight', String(instance.weight), '--tag', instance.tags.join(','), '--ttl', String(config.ttl), '--log-level', 'info', ...trustDemoCa, ...serveTls,
          ]),
        );
      }
      this.proxy = this.launch('proxy', [
        'proxy', '--service', DEMO_SERVICE, '--listen', `127.0.0.1:${config.proxyPort}`, '--admin', `127.0.0.1:${config.adminPort}`, '--registry', endpoints.registry, '--log-level', 'info', ...trustDemoCa, ...serveTls, ...verifyInstances,
      ]);
      const proxy = this.proxy;
      const adminUp = proxy.waitForMessage(/^proxy admin listening on /);
      await Promise.all([
        step(`the registry to list ${DEMO_INSTANCES.length} passing instances of ${DEMO_SERVICE}`, (signal) => this.passingInstances(signal)),
        step(`the proxy to know ${DEMO_INSTANCES.length} instances and answer`, async (signal) => {
          await adminUp;
          await this.proxyReady(signal);
        }),
      ]);
    } finally {
      done.abort();
    }
  }

  /**
   * Stops in order: the proxy, the services (each deregisters), the registry. Returns what did
   * not go cleanly: a process that had to be killed or exited with an error.
   */
  async stop(): Promise<string[]> {
    const problems: string[] = [];
    const stopOne = async (child: ChildCommand | undefined) => {
      if (!child?.running) return;
      const exit = await child.stop(STOP_TIMEOUT_MS);
      if (exit.killed) problems.push(`${child.name} did not stop within ${STOP_TIMEOUT_MS / 1000} s of SIGTERM: killed`);
      // Ended by our SIGTERM before it could handle it (it was still loading): stopped all the same.
      else if (!isCleanStop(exit)) problems.push(child.describeExit(exit));
    };
    await stopOne(this.proxy);
    await Promise.all(this.services.map(stopOne));
    await stopOne(this.registry);
    await this.trustingDemoCa?.close();
    return problems;
  }

  /** SIGKILL to every process still running: the last resort when the demo itself is ending. */
  killAll(): void {
    for (const child of this.children) child.kill();
  }

  /** Blocking queries on the registry until the demo's instances are all passing. */
  private async passingInstances(signal: AbortSignal): Promise<void> {
    const expected = new Set<string>(DEMO_INSTANCES.map((instance) => instance.id));
    const tls = this.tls ? readTlsFiles({ ca: this.tls.caCert }, { ca: 'the demo CA', cert: 'the demo certificate', key: 'the demo key' }) : undefined;
    const watcher = new InstanceWatcher({
      registry: this.endpoints.registry,
      service: DEMO_SERVICE,
      waitSeconds: 5,
      backoff: { baseMs: 100, maxMs: 500, jitter: 0 },
      ...(tls ? { tls } : {}),
    });
    try {
      await new Promise<void>((resolve, reject) => {
        const check = () => {
          const passing = watcher.instances.filter((instance) => instance.status === 'passing' && expected.has(instance.id));
          if (passing.length === expected.size) resolve();
        };
        watcher.on('change', check);
        signal.addEventListener('abort', () => reject(signal.reason), { once: true });
        watcher.start();
      });
    } finally {
      await watcher.close();
    }
  }

  /** The proxy has no blocking endpoint: its /stats is asked every 100 ms until it lists every instance, then one request goes through. */
  private async proxyReady(signal: AbortSignal): Promise<void> {
    const expected = DEMO_INSTANCES.length;
    while (!signal.aborted) {
      const stats = await getJson<{ instances: unknown[] }>(`${this.endpoints.admin}/stats`, signal);
      if (stats && stats.instances.length === expected) {
        // Refused or timed out: not ready yet, asked again below.
        const answer = await request(`${this.endpoints.proxy}/`, { signal: AbortSignal.any([signal, AbortSignal.timeout(2_000)]), ...(this.trustingDemoCa ? { dispatcher: this.trustingDemoCa } : {}) }).catch(() => undefined);
        await answer?.body.dump();
        if (answer?.statusCode === 200) return;
      }
      await sleep(POLL_INTERVAL_MS, undefined, { signal }).catch(() => {});
    }
  }

  /** `work`, unless a process exits first, the deadline passes or the demo is aborted. */
  private async within<T>(what: string, work: Promise<T>, deadline: number, abort: AbortSignal): Promise<T> {
    let timer: NodeJS.Timeout | undefined;
    let onAbort: (() => void) | undefined;
    const failures = [
      ...this.children.map((child) =>
        child.exited.then((exit): never => {
          throw new DemoStartError(`${child.describeExit(exit)} (while waiting for ${what})`);
        }),
      ),
      new Promise<never>((_resolve, reject) => {
        timer = setTimeout(() => reject(new DemoStartError(`gave up waiting for ${what} after ${START_TIMEOUT_MS / 1000} s`)), Math.max(0, deadline - Date.now()));
        onAbort = () => reject(new DemoStartError('start interrupted'));
        if (abort.aborted) onAbort();
        abort.addEventListener('abort', onAbort, { once: true });
      }),
    ];
    try {
      return await Promise.race([work, ...failures]);
    } finally {
      clearTimeout(timer);
      if (onAbort) abort.removeEventListener('abort', onAbort);
    }
  }
}

/** Exit 0, or ended by the SIGTERM we sent before its handlers were in place. */
function isCleanStop(exit: ChildExit): boolean {
  return exit.code === 0 || exit.signal === 'SIGTERM';
}

/** A JSON answer, or undefined while the endpoint is not up (refused, not 200, not JSON). */
async function getJson<T>(url: string, signal: AbortSignal): Promise<T | undefined> {
  try {
    const response = await fetch(url, { signal: AbortSignal.any([signal, AbortSignal.timeout(2_000)]) });
    if (response.status !== 200) {
      await response.body?.cancel();
      return undefined;
    }
    return (await response.json()) as T;
  } catch {
    return undefined; // not listening yet: the caller asks again
  }
}
