/** Envoy's min_retry_concurrency: this many retries may always be in flight, however few requests are. */
export const MIN_RETRY_CONCURRENCY = 3;

/**
 * Envoy's retry budget: retries in flight at most `budget` (a share, 0-1) of the requests in
 * flight, with a floor of three. When every instance fails (a brown-out), a fixed retry count
 * would multiply the load by 1 + count; the budget caps the extra load at the budget's share
 * whatever the count. Unlike Envoy, the requests counted are those not retrying: Envoy's
 * count includes the retries themselves, which lets the extra load reach budget / (1 - budget)
 * (25% for a 20% budget); this way it stays within the budget.
 * Plain counters, one per proxy; the forwarder calls `started` and `ended` for each request
 * and `acquire`/`release` around each retry.
 */
export class RetryBudget {
  private requests = 0;
  private retries = 0;

  get requestsInFlight(): number {
    return this.requests;
  }

  get retriesInFlight(): number {
    return this.retries;
  }

  started(): void {
    this.requests += 1;
  }

  ended(): void {
    this.requests -= 1;
  }

  /** Takes a place for one retry if the budget has room; false when it is spent. */
  acquire(budget: number): boolean {
    if (this.retries >= Math.max(MIN_RETRY_CONCURRENCY, budget * (this.requests - this.retries))) return false;
    this.retries += 1;
    return true;
  }

  /** The retry taken with `acquire` has ended (answered, failed or given up). */
  release(): void {
    this.retries -= 1;
  }
}
