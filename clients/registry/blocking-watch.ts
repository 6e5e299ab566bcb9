import { z } from 'zod';
import { Backoff, type BackoffOptions } from '../backoff.js';
import { asClientError, parseOption, type RegistryClientError } from './errors.js';
import type { TlsMaterial } from '../tls/tls-files.js';
import { type ListQuery, RegistryApi } from './registry-api.js';

/** How a watcher reaches the registry and paces itself; InstanceWatcher's and PolicyWatcher's options share them. */
export interface BlockingWatchOptions {
  /** Base URL of the registry, e.g. `http://127.0.0.1:8500`. */
  registry: string;
  /** Sent as `Authorization: Bearer <token>` when given. */
  token?: string;
  /** For an https:// registry: a private CA to trust, a client certificate (RegistryApiOptions.tls). */
  tls?: TlsMaterial;
  /** How long each blocking query may wait for a change, 1-300 s. Default 60. */
  waitSeconds?: number;
  /** How reconnection attempts space out. Default {baseMs: 500, maxMs: 30000, jitter: 0.5}. */
  backoff?: BackoffOptions;
  /** Timeout of a query that answers at once; a blocking query gets waitSeconds on top. Default 5000. */
  requestTimeoutMs?: number;
  random?: () => number;
}

/** What a watcher does with the loop's outcomes. */
export interface BlockingWatchHandlers<A extends { index: number }> {
  /** Sends one query (blocking when it has an index). */
  fetch(api: RegistryApi, query: ListQuery): Promise<A>;
  /**
   * An answer. `mayHaveChanged` is false only for a blocking query that came back with the index
   * it waited on (a timeout or a spurious wake-up); `previousIndex` is 0 before the first answer.
   */
  answered(answer: A, mayHaveChanged: boolean, previousIndex: number): void;
  unreachable(error: RegistryClientError, retryInMs: number): void;
  reconnected(): void;
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
 * The loop every watcher of the registry runs: a blocking query that returns as soon as what it
 * watches changes (or after waitSeconds), the index of each answer carried to the next query,
 * back-off while the registry is away, and Consul's rule that an index going backwards means
 * the numbers start over. The watchers (instances, policy) say what to fetch and what a change is.
 */
export class BlockingWatch<A extends { index: number }> {
  private readonly api: RegistryApi;
  private readonly backoff: Backoff;
  private readonly waitSeconds: number;
  private readonly requestTimeoutMs: number;
  private readonly stop = new AbortController();
  private currentIndex = 0;
  /**
   * The next query answers at once instead of blocking: first, after a failure (the registry
   * may be a new one, with other indexes), and after the index went backwards.
   */
  private fetchAtOnce = true;
  private failing = false;
  private watching: Promise<void> | undefined;
  private closing: Promise<void> | undefined;

  constructor(
    options: BlockingWatchOptions,
    private readonly handlers: BlockingWatchHandlers<A>,
  ) {
    this.waitSeconds = parseOption(WaitSeconds, options.waitSeconds ?? 60, 'waitSeconds');
    this.requestTimeoutMs = options.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS;
    this.backoff = new Backoff(options.backoff ?? DEFAULT_BACKOFF, options.random ?? Math.random);
    this.api = new RegistryApi({
      registry: options.registry,
      requestTimeoutMs: this.requestTimeoutMs,
      ...(options.token !== undefined ? { token: options.token } : {}),
      ...(options.tls !== undefined ? { tls: options.tls } : {}),
    });
  }

  /** The X-Beacon-Index of the last answer; 0 before the first. */
  get index(): number {
    return this.currentIndex;
  }

  get isClosed(): boolean {
    return this.closing !== undefined;
  }

  /** Starts the loop; calling it again does nothing. */
  start(): void {
    this.watching ??= this.watch();
  }

  /** Aborts the query in flight and stops; `beforeRelease` runs once the loop has ended. */
  close(beforeRelease?: () => void): Promise<void> {
    this.closing ??= (async () => {
      this.stop.abort();
      await this.watching;
      beforeRelease?.();
      await this.api.close();
    })();
    return this.closing;
  }

  private async watch(): Promise<void> {
    while (!this.stop.signal.aborted) {
      let answer: A;
      const query = this.nextQuery();
      const sentAt = performance.now();
      try {
        answer = await this.handlers.fetch(this.api, query);
      } catch (error) {
        if (this.stop.signal.aborted) return;
        const retryInMs = this.backoff.next();
        this.failing = true;
        this.fetchAtOnce = true;
        this.handlers.unreachable(asClientError(error), retryInMs);
        await pause(retryInMs, this.stop.signal);
        continue;
      }
      this.accept(answer);
      const spacing = UNCHANGED_ANSWER_SPACING_MS - (performance.now() - sentAt);
      if (query.index !== undefined && answer.index === query.index && spacing > 0) await pause(spacing, this.stop.signal);
    }
  }

  private nextQuery(): ListQuery {
    const query: ListQuery = { signal: this.stop.signal };
    if (!this.fetchAtOnce) {
      query.index = this.currentIndex;
      query.waitSeconds = this.waitSeconds;
      // The registry holds the answer for up to waitSeconds by design; only time beyond that is a failure.
      query.timeoutMs = this.waitSeconds * 1000 + this.requestTimeoutMs;
    }
    return query;
  }

  private accept(answer: A): void {
    const answeredAtOnce = this.fetchAtOnce;
    const previousIndex = this.currentIndex;
    // Consul's rule: an index that goes backwards (a registry restored from an older backup, or
    // started on a new database) means the numbers start over, so reset and fetch afresh.
    this.fetchAtOnce = answer.index < previousIndex;
    this.currentIndex = answer.index;
    this.backoff.reset();
    if (this.failing) {
      this.failing = false;
      this.handlers.reconnected();
    }
    // The same index after a blocking query is a timeout or a spurious wake-up: nothing to compare.
    this.handlers.answered(answer, answeredAtOnce || answer.index !== previousIndex, previousIndex);
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
