import { EventEmitter } from 'node:events';
import { type Instance, ServiceName, Tag } from '../../contract/instance.js';
import { BlockingWatch, type BlockingWatchOptions } from './blocking-watch.js';
import { parseOption, RegistryClientError } from './errors.js';
import { sameInstances } from './instance-set.js';
import type { InstanceList } from './registry-api.js';

export interface InstanceWatcherOptions extends BlockingWatchOptions {
  service: string;
  /** Only instances carrying this tag. */
  tag?: string;
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

/**
 * Keeps one service's healthy instance set current through blocking queries: each query
 * returns as soon as the set changes (or after waitSeconds), so changes arrive within
 * milliseconds without a polling loop.
 */
export class InstanceWatcher extends EventEmitter<InstanceWatcherEvents> {
  readonly service: string;
  readonly tag: string | undefined;
  private readonly loop: BlockingWatch<InstanceList>;
  private current: readonly Instance[] = [];
  private known = false;
  private readonly readyWaiters: Array<{ resolve(instances: readonly Instance[]): void; reject(error: Error): void }> = [];

  constructor(options: InstanceWatcherOptions) {
    super();
    this.service = parseOption(ServiceName, options.service, 'service');
    this.tag = options.tag === undefined ? undefined : parseOption(Tag, options.tag, 'tag');
    const tag = this.tag;
    this.loop = new BlockingWatch<InstanceList>(options, {
      fetch: (api, query) => api.instances(this.service, { ...query, healthy: true, ...(tag !== undefined ? { tag } : {}) }),
      answered: (answer, mayHaveChanged) => this.accept(answer, mayHaveChanged),
      unreachable: (error, retryInMs) => this.emit('unreachable', error, retryInMs),
      reconnected: () => this.emit('reconnected'),
    });
  }

  /** The last known healthy set (kept while the registry is unreachable); empty before the first answer. */
  get instances(): readonly Instance[] {
    return this.current;
  }

  /** The X-Beacon-Index of the last answer; 0 before the first. */
  get index(): number {
    return this.loop.index;
  }

  /** Starts watching; calling it again does nothing. */
  start(): void {
    if (this.loop.isClosed) throw new RegistryClientError('closed', `watcher of ${this.service}: the watcher is closed`);
    this.loop.start();
  }

  /**
   * The first answer's set. Starts the watcher if start() was not called. Waits through
   * failures (see 'unreachable'); rejects only if the watcher is closed first.
   */
  ready(): Promise<readonly Instance[]> {
    if (this.known) return Promise.resolve(this.current);
    if (this.loop.isClosed) return Promise.reject(this.closedError());
    this.start();
    return new Promise((resolve, reject) => this.readyWaiters.push({ resolve, reject }));
  }

  /** Aborts the query in flight and stops watching. */
  close(): Promise<void> {
    return this.loop.close(() => {
      for (const waiter of this.readyWaiters.splice(0)) waiter.reject(this.closedError());
    });
  }

  private accept(answer: InstanceList, mayHaveChanged: boolean): void {
    const changed = !this.known || (mayHaveChanged && !sameInstances(this.current, answer.instances));
    this.current = answer.instances;
    this.known = true;
    if (changed) this.emit('change', this.current, answer.index);
    for (const waiter of this.readyWaiters.splice(0)) waiter.resolve(this.current);
  }

  private closedError(): RegistryClientError {
    return new RegistryClientError('closed', `watcher of ${this.service}: closed before the first answer`);
  }
}
