/** How a delay grows: `baseMs`, doubled per attempt up to `maxMs`, then cut by up to `jitter` of itself. */
export interface BackoffOptions {
  baseMs: number;
  maxMs: number;
  /**
   * Share of each delay drawn at random, 0–1: the delay is somewhere in [(1 - jitter)·d, d].
   * Without it every client that lost the registry at the same moment retries at the same
   * moment too (the thundering herd AWS's "Exponential Backoff and Jitter" measures).
   */
  jitter: number;
}

/**
 * Exponential back-off with jitter, one instance per thing that retries. Plain state, no
 * timers: the caller asks for the next delay and schedules it itself, so tests can drive it.
 */
export class Backoff {
  private attempts = 0;

  constructor(
    private readonly options: BackoffOptions,
    private readonly random: () => number = Math.random,
  ) {
    if (!(options.baseMs > 0) || !(options.maxMs >= options.baseMs)) throw new RangeError('back-off needs 0 < baseMs <= maxMs');
    if (!(options.jitter >= 0 && options.jitter <= 1)) throw new RangeError('back-off jitter must be between 0 and 1');
  }

  /** Failures since the last reset. */
  get attempt(): number {
    return this.attempts;
  }

  /** The delay before the next try; each call counts one more failure. */
  next(): number {
    const { baseMs, maxMs, jitter } = this.options;
    // 2 ** attempts overflows to Infinity long after min() has capped it, so no guard is needed.
    const ceiling = Math.min(maxMs, baseMs * 2 ** this.attempts);
    this.attempts += 1;
    return ceiling * (1 - jitter * this.random());
  }

  reset(): void {
    this.attempts = 0;
  }
}
