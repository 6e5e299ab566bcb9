/**
 * What a balancing policy chooses among: one upstream instance with its id, its weight and how
 * many requests it is serving right now. The upstream pool owns these; policies only read them.
 */
export interface Endpoint {
  /** Stable across proxies (the registry's instance id): ring-hash places an instance by it. */
  readonly id: string;
  readonly weight: number;
  readonly active: number;
  /**
   * Slow start's share of the weight, 0-1 (absent or 1: full weight). Only the pool's
   * `SlowStart` sets it; see slow-start.ts.
   */
  readonly ramp?: number;
}

/**
 * The weight a policy balances by. SRV weight 0 means "only when nothing heavier is left"
 * (RFC 2782): so a 0 counts only in a set where every weight is 0, and then all count alike.
 * An instance in slow start counts for its ramp's share of that.
 */
export function balancingWeight(endpoint: Endpoint, onlyZeroWeights: boolean): number {
  const weight = onlyZeroWeights ? 1 : endpoint.weight;
  const ramp = endpoint.ramp;
  return ramp === undefined ? weight : weight * ramp;
}

export function hasOnlyZeroWeights(candidates: readonly Endpoint[]): boolean {
  for (const candidate of candidates) if (candidate.weight > 0) return false;
  return true;
}
