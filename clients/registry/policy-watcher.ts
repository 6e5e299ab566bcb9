import { EventEmitter } from 'node:events';
import { isDeepStrictEqual } from 'node:util';
import { ServiceName } from '../../contract/instance.js';
import type { TrafficPolicy } from '../../contract/traffic-policy.js';
import { BlockingWatch, type BlockingWatchOptions } from './blocking-watch.js';
import { parseOption, RegistryClientError } from './errors.js';
import type { PolicyAnswer } from './registry-api.js';

export interface PolicyWatcherOptions extends BlockingWatchOptions {
  service: string;
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
  private readonly loop: BlockingWatch<PolicyAnswer>;
  private current: TrafficPolicy | undefined;
  private known = false;

  constructor(options: PolicyWatcherOptions) {
    super();
    this.service = parseOption(ServiceName, options.service, 'service');
    this.loop = new BlockingWatch<PolicyAnswer>(options, {
      fetch: (api, query) => api.policy(this.service, query),
      answered: (answer, _mayHaveChanged, previousIndex) => this.accept(answer, previousIndex),
      unreachable: (error, retryInMs) => this.emit('unreachable', error, retryInMs),
      reconnected: () => this.emit('reconnected'),
    });
  }

  /** The last known policy (kept while the registry is unreachable); undefined when none is set or before the first answer. */
  get policy(): TrafficPolicy | undefined {
    return this.current;
  }

  /** The X-Beacon-Index of the last answer; 0 before the first. */
  get index(): number {
    return this.loop.index;
  }

  /** Whether an answer has come (with or without a policy). */
  get isKnown(): boolean {
    return this.known;
  }

  /** Starts watching; calling it again does nothing. */
  start(): void {
    if (this.loop.isClosed) throw new RegistryClientError('closed', `policy watcher of ${this.service}: the watcher is closed`);
    this.loop.start();
  }

  /** Aborts the query in flight and stops watching. */
  close(): Promise<void> {
    return this.loop.close();
  }

  /** Every move of the index counts (the index is how operators see every proxy caught up), and any other difference. */
  private accept(answer: PolicyAnswer, previousIndex: number): void {
    const changed = !this.known || answer.index !== previousIndex || !isDeepStrictEqual(this.current, answer.policy);
    this.current = answer.policy;
    this.known = true;
    if (changed) this.emit('change', this.current, answer.index);
  }
}
