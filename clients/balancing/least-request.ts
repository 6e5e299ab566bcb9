import { balancingWeight, type Endpoint, hasOnlyZeroWeights } from './endpoint.js';
import type { BalancingPolicy } from './policy.js';
import { pickByWeight } from './weighted-random.js';

/**
 * Power of two choices (Mitzenmacher; Envoy's LEAST_REQUEST): draw two candidates by weight
 * and send to the one with fewer requests in flight per unit of weight. Two draws avoid the
 * herd a global "least loaded" pick causes when every proxy sees the same idle instance, and
 * drawing by weight keeps the 1:3 split when every instance is idle (a tie goes to the first draw).
 */
export class LeastRequest<E extends Endpoint> implements BalancingPolicy<E> {
  readonly name = 'least-request' as const;

  constructor(private readonly random: () => number = Math.random) {}

  pick(candidates: readonly E[]): E | undefined {
    if (candidates.length <= 1) return candidates[0];
    const first = pickByWeight(candidates, this.random)!;
    const second = pickByWeight(candidates, this.random)!;
    if (first === second) return first;
    const onlyZeroWeights = hasOnlyZeroWeights(candidates);
    return load(second, onlyZeroWeights) < load(first, onlyZeroWeights) ? second : first;
  }
}

/** Requests in flight per unit of weight: equal (0) while idle, so the weighted draw stands. */
function load(endpoint: Endpoint, onlyZeroWeights: boolean): number {
  return endpoint.active / balancingWeight(endpoint, onlyZeroWeights);
}
