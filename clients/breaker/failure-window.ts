/** Trip when at least `threshold` (0–1) of the last `windowMs` of requests failed, once there were `minimumRequests`. */
export interface FailureRateOptions {
  threshold: number;
  minimumRequests: number;
  windowMs: number;
}

const BUCKETS = 10;

/**
 * Outcomes over a sliding window, kept in ten time buckets (resilience4j's time-based sliding
 * window): recording is O(1) and the memory fixed, at the price of a window that slides in
 * steps of a tenth of its length.
 */
export class FailureWindow {
  private readonly failures = new Uint32Array(BUCKETS);
  private readonly totals = new Uint32Array(BUCKETS);
  private readonly bucketMs: number;
  /** The bucket number (time / bucketMs) the newest slot holds. */
  private newest = -BUCKETS;

  constructor(private readonly options: FailureRateOptions) {
    if (!(options.threshold > 0 && options.threshold <= 1)) throw new RangeError('failure-rate threshold must be in (0, 1]');
    if (!(options.minimumRequests >= 1)) throw new RangeError('failure-rate minimumRequests must be at least 1');
    if (!(options.windowMs >= BUCKETS)) throw new RangeError(`failure-rate windowMs must be at least ${BUCKETS}`);
    this.bucketMs = options.windowMs / BUCKETS;
  }

  /** Records one outcome at `now`; answers whether the window now calls for a trip. */
  record(now: number, failed: boolean): boolean {
    const bucket = Math.floor(now / this.bucketMs);
    if (bucket !== this.newest) this.advanceTo(bucket);
    const slot = bucket % BUCKETS;
    this.totals[slot]! += 1;
    if (failed) this.failures[slot]! += 1;
    if (!failed) return false;
    let total = 0;
    let failures = 0;
    for (let i = 0; i < BUCKETS; i++) {
      total += this.totals[i]!;
      failures += this.failures[i]!;
    }
    return total >= this.options.minimumRequests && failures / total >= this.options.threshold;
  }

  clear(): void {
    this.failures.fill(0);
    this.totals.fill(0);
  }

  /** Empties the slots of buckets that fell out of the window since the newest one. */
  private advanceTo(bucket: number): void {
    const stale = bucket - this.newest;
    if (stale >= BUCKETS) {
      this.clear();
    } else {
      for (let i = 1; i <= stale; i++) {
        const slot = (this.newest + i) % BUCKETS;
        this.failures[slot] = 0;
        this.totals[slot] = 0;
      }
    }
    this.newest = bucket;
  }
}
