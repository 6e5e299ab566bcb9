import type { Endpoint } from './endpoint.js';
import { LeastRequest } from './least-request.js';
import { RingHash } from './ring-hash.js';
import { WeightedRandom } from './weighted-random.js';
import { SmoothWeightedRoundRobin } from './weighted-round-robin.js';

/**
 * A balancing policy: picks one of the candidates it is given, which the caller has already
 * filtered (healthy, breaker closed, not tried yet). Policies keep only their own bookkeeping,
 * so one can be driven in a unit test by calling `pick` with plain objects.
 */
export interface BalancingPolicy<E extends Endpoint = Endpoint> {
  readonly name: PolicyName;
  /**
   * One of `candidates`, or undefined when there are none. `key` is the request's hash key
   * (ring-hash; the others ignore it). `members` is the whole set the candidates were taken
   * from (default: the candidates), so ring-hash can walk past the ones left out.
   */
  pick(candidates: readonly E[], key?: string, members?: readonly E[]): E | undefined;
}

export const POLICY_NAMES = ['weighted-round-robin', 'least-request', 'random', 'ring-hash'] as const;
export type PolicyName = (typeof POLICY_NAMES)[number];

export function createPolicy<E extends Endpoint>(name: PolicyName, random: () => number = Math.random): BalancingPolicy<E> {
  switch (name) {
    case 'weighted-round-robin':
      return new SmoothWeightedRoundRobin<E>();
    case 'least-request':
      return new LeastRequest<E>(random);
    case 'random':
      return new WeightedRandom<E>(random);
    case 'ring-hash':
      return new RingHash<E>(random);
  }
}
