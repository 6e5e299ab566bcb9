import { EventEmitter } from 'node:events';
import { z } from 'zod';
import { type Instance, ServiceName, Tag } from '../../contract/instance.js';
import { Backoff, type BackoffOptions } from '../backoff.js';
import { asClientError, parseOption, RegistryClientError } from './errors.js';
import { sameInstances } from './instance-set.js';
import { type InstanceList, type InstanceListQuery, RegistryApi } from './registry-api.js';

export interface InstanceWatcherOptions {
  /** Base URL of the registry, e.g. `http://127.0.0.1:8500`. */
  registry: string;
  service: string;
  /** Sent as `Authorization: Bearer <token>` when given. */
  token?: string;
  /** How long each blocking query may wait for a change, 1-300 s. Default 60. */
  waitSeconds?: number;
  /** Only instances carrying this tag. */
  tag?: string;
  /** How reconnection attempts space out. Default {baseMs: 500, maxMs: 30000, jitter: 0.5}. */
  backoff?: BackoffOptions;
  /** Timeout of a query that answers at once; a blocking query gets waitSeconds on top. Default 5000. */
  requestTimeoutMs?: number;
  random?: () => number;
}

/** The events an InstanceWatcher emits. It never emits 'error'. */
export interface InstanceWatcherEvents {
  /**
   * The healthy set changed (or became known: the first answer always counts). Emitted only
   * when a field that routing depends on changed, not on heartbeats or spurious wake-ups.
   */
  change: [instances: readonly Instance[], index: number];
  /** A query failed; the set is kept as last known, and the next try is in `retryInMs`. */
  unreachable: [error: RegistryClientError, retryInMs: number];
  /** A query succeeded after one or more failures. */
  reconnected: [];
}

export const DEFAULT_BACKOFF: BackoffOptions = { baseMs: 500, maxMs: 30_000, jitter: 0.5 };
export const DEFAULT_REQUEST_TIMEOUT_MS = 5_000;
/**
 * A blocking query that comes back at once with the same index (a spurious wake-up, a registry
 * answering its waiters as it shuts down, or a proxy that drops the query string) is followed by
 * a short pause, so a misbehaving path costs a few requests a second, not a hot loop. Changes
 * are never delayed by it.
 */
export const UNCHANGED_ANSWER_SPACING_MS = 100;
export const WaitSeconds = z.number().int('must be an integer').min(1, 'must be 1-300').max(300, 'must be 1-300 (the registry caps wait at 300 s)');

/**
 * Keeps one service's healthy instance set current through blocking queries: each query
 * returns as soon as the set changes (or after waitSeconds), so changes arrive within
 * milliseconds without a polling loop.
 */
export class InstanceWatcher extends EventEmitter<InstanceWatcherEvents> {
  readonly service: string;
  readonly tag: string | undefined;
  private readonly api: RegistryApi;
  private readonly backoff: Backoff;
  private readonly waitSeconds: number;
  private readonly requestTimeoutMs: number;
  private readonly stop = new AbortController();
  private current: readonly Instance[] = [];
  private currentIndex = 0;
  private known = false;
  /**
   * The next query answers at once instead of blocking: first, after a failure (the registry
   * may be a new one, with other indexes), and after the index went backwards.
   */
  private fetchAtOnce = true;
  private failing = false;
  private watching: Promise<void> | undefined;
  private readonly readyWaiters: Array<{ resolve(instances: readonly Instance[]): void; reject(error: Error): void }> = [];
  private closing: Promise<void> | undefined;

  constructor(options: InstanceWatcherOptions) {
    super();
    this.service = parseOption(ServiceName, options.service, 'service');
    this.tag = options.tag === undefined ? undefined : parseOption(Tag, options.tag, 'tag');
    this.waitSeconds = parseOption(WaitSeconds, options.waitSeconds ?? 60, 'waitSeconds');
    this.requestTimeoutMs = options.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS;
    this.backoff = new Backoff(options.backoff ?? DEFAULT_BACKOFF, options.random ?? Math.random);
    this.api = new RegistryApi({
      registry: options.registry,
      requestTimeoutMs: this.requestTimeoutMs,
      ...(options.token !== undefined ? { token: options.token } : {}),
    });
  }

  /** The last known healthy set (kept while the registry is unreachable); empty before the first answer. */
  get instances(): readonly Instance[] {
    return this.current;
  }

  /** The X-Beacon-Index of the last answer; 0 before the first. */
  get index(): number {
    return this.currentIndex;
  }

  /** Starts watching; calling it again does nothing. */
  start(): void {
    if (this.closing) throw new RegistryClientError('closed', `watcher of ${this.service}: the watcher is closed`);
    this.watching ??= this.watch();
  }

  /**
   * The first answer's set. Starts the watcher if start() was not called. Waits through
   * failures (see 'unreachable'); rejects only if the watcher is closed first.
   */
  ready(): Promise<readonly Instance[]> {
    if (this.known) return Promise.resolve(this.current);
    if (this.closing) return Promise.reject(this.closedError());
    this.start();
    return new Promise((resolve, reject) => this.readyWaiters.push({ resolve, reject }));
  }

  /** Aborts the query in flight and stops watching. */
  close(): Promise<void> {
    this.closing ??= this.shutdown();
    return this.closing;
  }

  private async shutdown(): Promise<void> {
    this.stop.abort();
    await this.watching;
    for (const waiter of this.readyWaiters.splice(0)) waiter.reject(this.closedError());
    await this.api.close();
  }

  private async watch(): Promise<void> {
    while (!this.stop.signal.aborted) {
      let answer: InstanceList;
      const query = this.nextQuery();
      const sentAt = performance.now();
      try {
        answer = await this.api.instances(this.service, query);
      } catch (error) {
        if (this.stop.signal.aborted) return;
        const retryInMs = this.backoff.next();
        this.failing = true;
        this.fetchAtOnce = true;
        this.emit('unreachable', asClientError(error), retryInMs);
        await pause(retryInMs, this.stop.signal);
        continue;
      }
      this.accept(answer);
      const spacing = UNCHANGED_ANSWER_SPACING_MS - (performance.now() - sentAt);
      if (query.index !== undefined && answer.index === query.index && spacing > 0) await pause(spacing, this.stop.signal);
    }
  }

  private nextQuery(): InstanceListQuery {
    const query: InstanceListQuery = { healthy: true, signal: this.stop.signal };
    if (this.tag !== undefined) query.tag = this.tag;
    if (!this.fetchAtOnce) {
      query.index = this.currentIndex;
      query.waitSeconds = this.waitSeconds;
      // The registry holds the answer for up to waitSeconds by design; only time beyond that is a failure.
      query.timeoutMs = this.waitSeconds * 1000 + this.requestTimeoutMs;
    }
    return query;
  }

  private accept(answer: InstanceList): void {
    const wasFetchAtOnce = this.fetchAtOnce;
    // Consul's rule: an index that goes backwards (a registry restored from an older backup, or
    // started on a new database) means the numbers start over, so reset and fetch afresh.
    this.fetchAtOnce = answer.index < this.currentIndex;
    const first = !this.known;
    // The same index after a blocking query is a timeout or a spurious wake-up: nothing to compare.
    const mayHaveChanged = first || wasFetchAtOnce || this.fetchAtOnce || answer.index !== this.currentIndex;
    const changed = first || (mayHaveChanged && !sameInstances(this.current, answer.instances));
    this.current = answer.instances;
    this.currentIndex = answer.index;
    this.known = true;
    this.backoff.reset();
    if (this.failing) {
      this.failing = false;
      this.emit('reconnected');
    }
    if (changed) this.emit('change', this.current, this.currentIndex);
    for (const waiter of this.readyWaiters.splice(0)) waiter.resolve(this.current);
  }

  private closedError(): RegistryClientError {
    return new RegistryClientError('closed', `watcher of ${this.service}: closed before the first answer`);
  }
}

/** Waits ms, or less if the signal aborts first; never rejects. */
export function pause(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener('abort', done, { once: true });
  });
}
