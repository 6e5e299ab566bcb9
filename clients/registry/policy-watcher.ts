import { EventEmitter } from 'node:events';
import { isDeepStrictEqual } from 'node:util';
import { ServiceName } from '../../contract/instance.js';
import type { TrafficPolicy } from '../../contract/traffic-policy.js';
import { Backoff, type BackoffOptions } from '../backoff.js';
import { asClientError, parseOption, RegistryClientError } from './errors.js';
import { DEFAULT_BACKOFF, DEFAULT_REQUEST_TIMEOUT_MS, pause, UNCHANGED_ANSWER_SPACING_MS, WaitSeconds } from './instance-watcher.js';
import { type ListQuery, type PolicyAnswer, RegistryApi } from './registry-api.js';

export interface PolicyWatcherOptions {
  /** Base URL of the registry, e.g. `http://127.0.0.1:8500`. */
  registry: string;
  service: string;
  /** Sent as `Authorization: Bearer <token>` when given. */
  token?: string;
  /** How long each blocking query may wait for a change, 1-300 s. Default 60. */
  waitSeconds?: number;
  /** How reconnection attempts space out. Default {baseMs: 500, maxMs: 30000, jitter: 0.5}. */
  backoff?: BackoffOptions;
  /** Timeout of a query that answers at once; a blocking query gets waitSeconds on top. Default 5000. */
  requestTimeoutMs?: number;
  random?: () => number;
}

/** The events a PolicyWatcher emits. It never emits 'error'. */
export interface PolicyWatcherEvents {
  /**
   * The service's policy was set, replaced or removed (undefined), or became known (the first
   * answer always counts, policy or not). Emitted when the policy's index moves, even for a PUT
   * of the same policy: the index is how operators see that every proxy has caught up. Not
   * emitted for a blocking query that timed out.
   */
  change: [policy: TrafficPolicy | undefined, index: number];
  /** A query failed; the policy is kept as last known, and the next try is in `retryInMs`. */
  unreachable: [error: RegistryClientError, retryInMs: number];
  /** A query succeeded after one or more failures. */
  reconnected: [];
}

/**
 * Keeps one service's traffic policy current through blocking queries on
 * `GET /v1/services/NAME/policy`, the way InstanceWatcher keeps its instances: the registry
 * parks the query until the policy changes, so every proxy hears of a change within
 * milliseconds. A service with no policy is watched all the same (its 404 blocks too), so the
 * first `PUT` reaches proxies started before it.
 */
export class PolicyWatcher extends EventEmitter<PolicyWatcherEvents> {
  readonly service: string;
  private readonly api: RegistryApi;
  private readonly backoff: Backoff;
  private readonly waitSeconds: number;
  private readonly requestTimeoutMs: number;
  private readonly stop = new AbortController();
  private current: TrafficPolicy | undefined;
  private currentIndex = 0;
  private known = false;
  /** The next query answers at once: first, after a failure, and after the index went backwards. */
  private fetchAtOnce = true;
  private failing = false;
  private watching: Promise<void> | undefined;
  private closing: Promise<void> | undefined;

  constructor(options: PolicyWatcherOptions) {
    super();
    this.service = parseOption(ServiceName, options.service, 'service');
    this.waitSeconds = parseOption(WaitSeconds, options.waitSeconds ?? 60, 'waitSeconds');
    this.requestTimeoutMs = options.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS;
    this.backoff = new Backoff(options.backoff ?? DEFAULT_BACKOFF, options.random ?? Math.random);
    this.api = new RegistryApi({
      registry: options.registry,
      requestTimeoutMs: this.requestTimeoutMs,
      ...(options.token !== undefined ? { token: options.token } : {}),
    });
  }

  /** The last known policy (kept while the registry is unreachable); undefined when none is set or before the first answer. */
  get policy(): TrafficPolicy | undefined {
    return this.current;
  }

  /** The X-Beacon-Index of the last answer; 0 before the first. */
  get index(): number {
    return this.currentIndex;
  }

  /** Whether an answer has come (with or without a policy). */
  get isKnown(): boolean {
    return this.known;
  }

  /** Starts watching; calling it again does nothing. */
  start(): void {
    if (this.closing) throw new RegistryClientError('closed', `policy watcher of ${this.service}: the watcher is closed`);
    this.watching ??= this.watch();
  }

  /** Aborts the query in flight and stops watching. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      this.stop.abort();
      await this.watching;
      await this.api.close();
    })();
    return this.closing;
  }

  private async watch(): Promise<void> {
    while (!this.stop.signal.aborted) {
      let answer: PolicyAnswer;
      const query = this.nextQuery();
      const sentAt = performance.now();
      try {
        answer = await this.api.policy(this.service, query);
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

  private accept(answer: PolicyAnswer): void {
    // Consul's rule, as in InstanceWatcher: an index that goes backwards means the numbers start over.
    this.fetchAtOnce = answer.index < this.currentIndex;
    const changed = !this.known || answer.index !== this.currentIndex || !isDeepStrictEqual(this.current, answer.policy);
    this.current = answer.policy;
    this.currentIndex = answer.index;
    this.known = true;
    this.backoff.reset();
    if (this.failing) {
      this.failing = false;
      this.emit('reconnected');
    }
    if (changed) this.emit('change', this.current, this.currentIndex);
  }
}
