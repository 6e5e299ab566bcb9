import { EventEmitter } from 'node:events';
import type { z } from 'zod';
import { type CheckStatus, Heartbeat, type Instance, InstanceId, InstanceRegistration, ServiceName } from '../../contract/instance.js';
import { Backoff, type BackoffOptions } from '../backoff.js';
import { asClientError, parseOption, RegistryClientError } from './errors.js';
import type { TlsMaterial } from '../tls/tls-files.js';
import { RegistryApi } from './registry-api.js';

export interface RegistryClientOptions {
  /** Base URL of the registry, e.g. `http://127.0.0.1:8500`. */
  registry: string;
  service: string;
  id: string;
  /** What PUT /v1/services/{service}/instances/{id} sends; defaults are filled in as the server would. */
  registration: z.input<typeof InstanceRegistration>;
  /** Sent as `Authorization: Bearer <token>` when given. */
  token?: string;
  /** For an https:// registry: a private CA to trust, a client certificate (RegistryApiOptions.tls). */
  tls?: TlsMaterial;
  /** Per request: connect, then wait for the answer. Default 5000. */
  requestTimeoutMs?: number;
  /** How retries space out while the registry is unreachable. Default {baseMs: 500, maxMs: 30000, jitter: 0.5}. */
  backoff?: BackoffOptions;
  /** For the back-off and heartbeat jitter; Math.random by default. */
  random?: () => number;
}

/** The events a RegistryClient emits. It never emits 'error': an unhandled one would end the process. */
export interface RegistryClientEvents {
  /** The registry acknowledged a registration (from start() or register()). */
  registered: [instance: Instance];
  /** A heartbeat got 404 (the registry lost or removed the instance) and the client registered it again. */
  reregistered: [instance: Instance];
  /**
   * The last request of the loop failed; the next try is in `retryInMs`. Mostly the registry is
   * unreachable or answering 5xx; `error.code` says which (a 4xx after start shows up here too).
   */
  unreachable: [error: RegistryClientError, retryInMs: number];
  /** The registry acknowledged a heartbeat. */
  heartbeat: [instance: Instance];
}

const DEFAULT_BACKOFF: BackoffOptions = { baseMs: 500, maxMs: 30_000, jitter: 0.5 };
const DEFAULT_REQUEST_TIMEOUT_MS = 5_000;
/**
 * Heartbeats go every ttl/3, ±10%: two can be lost before the TTL runs out, and the spread keeps
 * a fleet started by one deploy from heartbeating in lockstep.
 */
const HEARTBEATS_PER_TTL = 3;
const HEARTBEAT_JITTER = 0.1;

/** What the loop does next. `reregister` differs from `register` only in the event it emits. */
type Step = 'register' | 'reregister' | 'heartbeat';

/**
 * Keeps one instance registered: registers it, heartbeats every ttl/3, registers it again when
 * a heartbeat gets 404, backs off while the registry is unreachable, and deregisters on close().
 */
export class RegistryClient extends EventEmitter<RegistryClientEvents> {
  readonly service: string;
  readonly id: string;
  private readonly registration: InstanceRegistration;
  private readonly api: RegistryApi;
  private readonly backoff: Backoff;
  private readonly random: () => number;
  /** What the loop's heartbeats report; empty: passing. */
  private check: Heartbeat = {};
  private last: Instance | undefined;
  private timer: NodeJS.Timeout | undefined;
  /** The timer waits out a normal heartbeat period (not a back-off), so a new status may cut it short. */
  private waitingForPeriod = false;
  private readonly requests = new Set<Promise<unknown>>();
  private starting: Promise<Instance> | undefined;
  private startWaiter: { resolve(instance: Instance): void; reject(error: Error): void } | undefined;
  private closing: Promise<void> | undefined;

  constructor(options: RegistryClientOptions) {
    super();
    this.service = parseOption(ServiceName, options.service, 'service');
    this.id = parseOption(InstanceId, options.id, 'id');
    this.registration = parseOption(InstanceRegistration, options.registration, 'registration');
    this.random = options.random ?? Math.random;
    this.backoff = new Backoff(options.backoff ?? DEFAULT_BACKOFF, this.random);
    this.api = new RegistryApi({
      registry: options.registry,
      requestTimeoutMs: options.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS,
      ...(options.token !== undefined ? { token: options.token } : {}),
      ...(options.tls !== undefined ? { tls: options.tls } : {}),
    });
  }

  /** The instance as the registry last answered it; undefined before the first registration. */
  get instance(): Instance | undefined {
    return this.last;
  }

  /** One registration (PUT), no retry. */
  async register(): Promise<Instance> {
    const instance = await this.sendRegistration();
    this.emit('registered', instance);
    return instance;
  }

  /**
   * Registers (retrying with back-off while the registry is unreachable or answers 5xx), then
   * keeps heartbeating until close(). Rejects on a 4xx (the registration itself is wrong) or on
   * close() before the first registration. Calling it again returns the same promise.
   */
  start(): Promise<Instance> {
    if (this.closing) return Promise.reject(this.closedError('start'));
    this.starting ??= new Promise<Instance>((resolve, reject) => {
      this.startWaiter = { resolve, reject };
      this.schedule('register', 0);
    });
    return this.starting;
  }

  /** One heartbeat now, e.g. with a warning and its output; the loop goes on sending its own status. */
  async heartbeat(body: Heartbeat = {}): Promise<Instance> {
    const checked = parseOption(Heartbeat, body, 'heartbeat');
    const instance = await this.track(() => this.api.heartbeat(this.service, this.id, checked));
    this.last = instance;
    this.emit('heartbeat', instance);
    return instance;
  }

  /**
   * The status (and output) every heartbeat of the loop reports from now on, sent at once if
   * the loop is between heartbeats. `setStatus('passing')` goes back to plain heartbeats.
   */
  setStatus(status: CheckStatus, output?: string): void {
    const check = parseOption(Heartbeat, output === undefined ? { status } : { status, output }, 'status');
    this.check = check.status === 'passing' && check.output === undefined ? {} : check;
    if (this.waitingForPeriod) this.schedule('heartbeat', 0);
  }

  /** Stops the loop, lets a request in flight finish, deregisters (404 is fine) and closes connections. */
  close(): Promise<void> {
    this.closing ??= this.shutdown();
    return this.closing;
  }

  private async shutdown(): Promise<void> {
    clearTimeout(this.timer);
    this.timer = undefined;
    this.waitingForPeriod = false;
    this.startWaiter?.reject(this.closedError('start'));
    this.startWaiter = undefined;
    // Outcomes belong to their callers (or to the loop, which handles its own); only the order matters here.
    await Promise.allSettled(this.requests);
    try {
      // Only an acknowledged registration is undone: one lost on the way expires by its TTL.
      if (this.last !== undefined) await this.api.deregister(this.service, this.id);
    } finally {
      await this.api.close();
    }
  }

  private schedule(step: Step, delayMs: number): void {
    clearTimeout(this.timer);
    if (this.closing) return;
    this.waitingForPeriod = step === 'heartbeat' && delayMs > 0 && this.backoff.attempt === 0;
    // Not unref'd on purpose: for a service whose only job is to serve, this loop is what says it is alive.
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.waitingForPeriod = false;
      // run() handles every outcome itself, and the timer never fires once close() has begun.
      void this.track(() => this.run(step));
    }, delayMs);
  }

  /** One step of the loop. It never rejects: every outcome schedules the next step or ends the loop. */
  private async run(step: Step): Promise<void> {
    let instance: Instance;
    const check = this.check;
    try {
      instance = step === 'heartbeat' ? await this.api.heartbeat(this.service, this.id, check) : await this.sendRegistration();
    } catch (error) {
      if (this.closing) return;
      this.afterFailure(step, asClientError(error));
      return;
    }
    if (this.closing) return;
    this.last = instance;
    this.backoff.reset();
    if (step === 'heartbeat') {
      // setStatus() during the request: the registry has the old status, so send the new one now.
      this.schedule('heartbeat', this.check === check ? this.heartbeatPeriod(instance) : 0);
      this.emit('heartbeat', instance);
      return;
    }
    // A registration resets the status to passing: report a service's own status again at once.
    this.schedule('heartbeat', this.check.status === undefined ? this.heartbeatPeriod(instance) : 0);
    if (step === 'reregister') {
      this.emit('reregistered', instance);
      return;
    }
    this.emit('registered', instance);
    this.startWaiter?.resolve(instance);
    this.startWaiter = undefined;
  }

  private afterFailure(step: Step, error: RegistryClientError): void {
    // Eureka's most common complaint (spring-cloud-netflix#26): the registry lost the instance
    // and the client kept heartbeating into the void. A 404 means "register again", now.
    if (step === 'heartbeat' && error.code === 'not_registered') {
      this.schedule('reregister', 0);
      return;
    }
    // Before the first registration a 4xx is final: the registration or token is wrong, and
    // retrying would only hide it. Later, the loop must not die, so it backs off like for a 5xx.
    if (step === 'register' && !error.transient) {
      this.startWaiter?.reject(error);
      this.startWaiter = undefined;
      return;
    }
    const retryInMs = this.backoff.next();
    this.schedule(step, retryInMs);
    this.emit('unreachable', error, retryInMs);
  }

  private async sendRegistration(): Promise<Instance> {
    const instance = await this.track(() => this.api.register(this.service, this.id, this.registration));
    this.last = instance;
    return instance;
  }

  private heartbeatPeriod(instance: Instance): number {
    const period = (instance.ttl * 1000) / HEARTBEATS_PER_TTL;
    return period * (1 + HEARTBEAT_JITTER * (2 * this.random() - 1));
  }

  /** Every request is tracked so close() can wait for it before deregistering; none starts after close(). */
  private track<T>(send: () => Promise<T>): Promise<T> {
    if (this.closing) return Promise.reject(this.closedError('request'));
    const request = send();
    this.requests.add(request);
    const forget = () => this.requests.delete(request);
    request.then(forget, forget);
    return request;
  }

  private closedError(what: string): RegistryClientError {
    return new RegistryClientError('closed', `${what} for ${this.service}/${this.id}: the client is closed`);
  }
}

/**
 * Deregisters before the process ends on SIGTERM/SIGINT: on the first signal it closes the
 * client, then removes its handlers and raises the signal again, so the process ends the way it
 * would have without them (exit by signal, unless other handlers are installed). A second
 * signal during close() finds no handler of ours and ends the process at once.
 * Returns a function that removes the handlers.
 */
export function deregisterOnSignals(
  client: Pick<RegistryClient, 'close' | 'service' | 'id'>,
  signals: readonly NodeJS.Signals[] = ['SIGTERM', 'SIGINT'],
): () => void {
  const remove = () => {
    for (const signal of signals) process.off(signal, onSignal);
  };
  function onSignal(signal: NodeJS.Signals): void {
    remove();
    client
      .close()
      .catch((error: unknown) => {
        // The instance will expire after its TTL anyway; say why it did not leave at once.
        process.stderr.write(`could not deregister ${client.service}/${client.id} on ${signal}: ${(error as Error).message}\n`);
      })
      .finally(() => process.kill(process.pid, signal));
  }
  for (const signal of signals) process.on(signal, onSignal);
  return remove;
}
