/** What slow start adjusts: when the instance became usable, and its share of its weight now. */
export interface RampedEndpoint {
  /** Clock time it became usable (first seen, or its breaker closed); -Infinity: from before anything was known. */
  usableSince: number;
  /** 0-1: the share of its weight balancing gives it (see `balancingWeight`). */
  ramp: number;
}

export interface SlowStartOptions {
  /** Envoy's min_weight_percent (default 10%): the smallest share a ramp starts from. */
  minWeight?: number;
  /** Envoy's aggression (default 1: linear); above 1 the ramp rises faster early on. */
  aggression?: number;
}

/**
 * Envoy's slow_start_config: an instance's weight × max(minWeight, (t / window)^(1/aggression)),
 * t being the time since it became usable. A cold instance (empty caches, JIT not warmed, a
 * pool that has just connected) gets a small share that grows to its full weight instead of
 * its whole share at once.
 */
export function rampOf(elapsedMs: number, windowMs: number, options: Required<SlowStartOptions>): number {
  if (elapsedMs >= windowMs) return 1;
  const timeFactor = Math.max(0, elapsedMs) / windowMs;
  const share = options.aggression === 1 ? timeFactor : timeFactor ** (1 / options.aggression);
  return Math.max(options.minWeight, share);
}

/**
 * Keeps the instances inside their slow-start window and brings their `ramp` up to date before
 * each pick. Only those are looked at: with slow start off (window 0, the default) or nobody
 * ramping, `advance` is one comparison. Balancing reads the ramp through the weight, so it
 * works under weighted round-robin, random and least-request alike; under least-request the
 * load is requests in flight per unit of *ramped* weight, so a fresh instance with nothing in
 * flight wins a comparison only until it carries its ramp's share (Envoy's least-request
 * scales the effective weight the same way), never a burst.
 */
export class SlowStart<E extends RampedEndpoint> {
  private windowMs: number;
  private ramping: E[] = [];
  private readonly options: Required<SlowStartOptions>;

  constructor(windowMs = 0, options: SlowStartOptions = {}) {
    this.windowMs = checkedWindow(windowMs);
    this.options = { minWeight: options.minWeight ?? 0.1, aggression: options.aggression ?? 1 };
    if (!(this.options.minWeight > 0 && this.options.minWeight <= 1)) throw new RangeError('minWeight must be above 0 and at most 1');
    if (!(this.options.aggression > 0)) throw new RangeError('aggression must be above 0');
  }

  get window(): number {
    return this.windowMs;
  }

  /** How many instances are ramping now. */
  get size(): number {
    return this.ramping.length;
  }

  /** `endpoint` became usable at `now`: it ramps from the start when slow start is on. */
  began(endpoint: E, now: number): void {
    endpoint.usableSince = now;
    if (this.windowMs === 0) return;
    endpoint.ramp = rampOf(0, this.windowMs, this.options);
    if (!this.ramping.includes(endpoint)) this.ramping.push(endpoint);
  }

  /** `endpoint` left the set: no more ramping for it. */
  forget(endpoint: E): void {
    const at = this.ramping.indexOf(endpoint);
    if (at >= 0) this.ramping.splice(at, 1);
  }

  /**
   * A new window, live: the members that became usable less than `windowMs` ago ramp over it
   * (from where its start puts them); 0 turns slow start off and gives everyone full weight.
   */
  setWindow(windowMs: number, members: readonly E[], now: number): void {
    this.windowMs = checkedWindow(windowMs);
    for (const endpoint of this.ramping) endpoint.ramp = 1;
    this.ramping = windowMs === 0 ? [] : members.filter((endpoint) => now - endpoint.usableSince < windowMs);
    this.advance(now);
  }

  /** Brings every ramp up to `now`; instances past their window leave at full weight. */
  advance(now: number): void {
    const ramping = this.ramping;
    if (ramping.length === 0) return;
    let kept = 0;
    for (const endpoint of ramping) {
      const ramp = rampOf(now - endpoint.usableSince, this.windowMs, this.options);
      endpoint.ramp = ramp;
      if (ramp < 1) ramping[kept++] = endpoint;
    }
    ramping.length = kept;
  }
}

function checkedWindow(windowMs: number): number {
  if (!(Number.isFinite(windowMs) && windowMs >= 0)) throw new RangeError('the slow-start window must be 0 or more milliseconds');
  return windowMs;
}
