/**
 * What a balancing policy chooses among: one upstream instance with its weight and how many
 * requests it is serving right now. The upstream pool owns these; policies only read them.
 */
export interface Endpoint {
  readonly weight: number;
  readonly active: number;
}

/**
 * The weight a policy balances by. SRV weight 0 means "only when nothing heavier is left"
 * (RFC 2782): so a 0 counts only in a set where every weight is 0, and then all count alike.
 */
export function balancingWeight(endpoint: Endpoint, onlyZeroWeights: boolean): number {
  return onlyZeroWeights ? 1 : endpoint.weight;
}

export function hasOnlyZeroWeights(candidates: readonly Endpoint[]): boolean {
  for (const candidate of candidates) if (candidate.weight > 0) return false;
  return true;
}
