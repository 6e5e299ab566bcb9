import { RegistryError } from './errors.js';

/**
 * Change indexes for blocking queries (Consul's semantics). Every commit has an index above all
 * earlier ones (the store hands it out: a counter in SQLite, the revision in etcd); each watched
 * key (a service, or the catalog) remembers the index of its last visible change. A waiter is
 * released by the change itself: `bump` resolves the waiters of exactly the keys it touched, so
 * nothing polls.
 */
export type WaitOutcome = 'changed' | 'timeout' | 'released';

interface Waiter {
  after: number;
  resolve(outcome: WaitOutcome): void;
}

export class ChangeIndex {
  private readonly startIndex: number;
  private readonly keyIndexes: Map<string, number>;
  private readonly waiters = new Map<string, Set<Waiter>>();
  private waiting = 0;
  private released = false;

  /**
   * @param start the last index handed out before this process (persisted by the store), so
   *   indexes never go backwards across restarts
   * @param maxWaiters bound on concurrently blocked queries
   * @param known the index of keys whose last change the store could tell
   */
  constructor(
    start: number,
    private readonly maxWaiters: number,
    known: ReadonlyMap<string, number> = new Map(),
  ) {
    this.startIndex = Math.max(1, start);
    this.keyIndexes = new Map(known);
  }

  get waiterCount(): number {
    return this.waiting;
  }

  /** The index of a key's last change; keys unchanged since start report the start index. */
  of(key: string): number {
    return this.keyIndexes.get(key) ?? this.startIndex;
  }

  /** Sets the keys' index to `index` (a commit's, above every earlier one) and releases their waiters. */
  bump(keys: Iterable<string>, index: number): void {
    for (const key of keys) {
      this.keyIndexes.set(key, index);
      const waiting = this.waiters.get(key);
      if (!waiting) continue;
      for (const waiter of waiting) {
        if (waiter.after < index) waiter.resolve('changed');
      }
    }
  }

  /**
   * Resolves when the key's index passes `after`, when `timeoutMs` runs out, when `signal`
   * aborts (the client went away) or when `releaseAll` is called (shutdown).
   */
  wait(key: string, after: number, timeoutMs: number, signal?: AbortSignal): Promise<WaitOutcome> {
    if (this.of(key) > after) return Promise.resolve('changed');
    if (signal?.aborted || this.released) return Promise.resolve('released');
    if (this.waiting >= this.maxWaiters) {
      throw new RegistryError(
        'too_many_waiters',
        `too many blocked queries (limit ${this.maxWaiters}); retry without index or later`,
      );
    }
    return new Promise<WaitOutcome>((resolve) => {
      let set = this.waiters.get(key);
      if (!set) this.waiters.set(key, (set = new Set()));
      const waiter: Waiter = { after, resolve: (outcome) => finish(outcome) };
      const onAbort = () => finish('released');
      const timer = setTimeout(() => finish('timeout'), timeoutMs);
      const finish = (outcome: WaitOutcome) => {
        clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
        const current = this.waiters.get(key);
        if (current?.delete(waiter)) {
          this.waiting -= 1;
          if (current.size === 0) this.waiters.delete(key);
        }
        resolve(outcome);
      };
      set.add(waiter);
      this.waiting += 1;
      signal?.addEventListener('abort', onAbort, { once: true });
    });
  }

  /** Releases every waiter, now and to come: shutdown answers blocked queries instead of dropping them. */
  releaseAll(): void {
    this.released = true;
    for (const set of [...this.waiters.values()]) {
      for (const waiter of [...set]) waiter.resolve('released');
    }
  }

}
