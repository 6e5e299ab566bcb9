import { balancingWeight, type Endpoint, hasOnlyZeroWeights } from './endpoint.js';
import type { BalancingPolicy } from './policy.js';

/**
 * Smooth weighted round-robin, as nginx does it (ngx_http_upstream_get_peer): every pick adds
 * each candidate's weight to its running score, takes the highest, and takes the total off the
 * winner. Weights 1:3 give b a b b rather than a b b b, so a light instance is never starved
 * and a heavy one never gets a burst. Candidates left out of a pick (tried, breaker open) keep
 * their score, as nginx's skipped peers do.
 */
export class SmoothWeightedRoundRobin<E extends Endpoint> implements BalancingPolicy<E> {
  readonly name = 'weighted-round-robin' as const;
  // Keyed by the endpoint object, so an instance that leaves the set takes its score with it.
  private readonly scores = new WeakMap<E, number>();

  pick(candidates: readonly E[]): E | undefined {
    if (candidates.length <= 1) return candidates[0];
    const onlyZeroWeights = hasOnlyZeroWeights(candidates);
    let total = 0;
    let best: E | undefined;
    let bestScore = -Infinity;
    for (const candidate of candidates) {
      const weight = balancingWeight(candidate, onlyZeroWeights);
      if (weight === 0) continue;
      const score = (this.scores.get(candidate) ?? 0) + weight;
      this.scores.set(candidate, score);
      total += weight;
      if (score > bestScore) {
        best = candidate;
        bestScore = score;
      }
    }
    if (best) this.scores.set(best, bestScore - total);
    return best;
  }
}
