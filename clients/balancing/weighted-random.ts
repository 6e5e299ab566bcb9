import { balancingWeight, type Endpoint, hasOnlyZeroWeights } from './endpoint.js';
import type { BalancingPolicy } from './policy.js';

/** Picks a candidate with probability proportional to its weight. */
export class WeightedRandom<E extends Endpoint> implements BalancingPolicy<E> {
  readonly name = 'random' as const;

  constructor(private readonly random: () => number = Math.random) {}

  pick(candidates: readonly E[]): E | undefined {
    return pickByWeight(candidates, this.random);
  }
}

/** One draw proportional to weight (weight 0 only when every candidate has it). */
export function pickByWeight<E extends Endpoint>(candidates: readonly E[], random: () => number): E | undefined {
  if (candidates.length <= 1) return candidates[0];
  const onlyZeroWeights = hasOnlyZeroWeights(candidates);
  let total = 0;
  for (const candidate of candidates) total += balancingWeight(candidate, onlyZeroWeights);
  let point = random() * total;
  for (const candidate of candidates) {
    const weight = balancingWeight(candidate, onlyZeroWeights);
    if (weight === 0) continue;
    point -= weight;
    if (point < 0) return candidate;
  }
  // Floating-point leftovers: the last candidate with any weight.
  for (let i = candidates.length - 1; i >= 0; i--) if (balancingWeight(candidates[i]!, onlyZeroWeights) > 0) return candidates[i];
  return undefined;
}
