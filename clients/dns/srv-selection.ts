import { weightedOrder } from '../../contract/weighted-order.js';

/**
 * RFC 2782's target selection: only the lowest priority is eligible; within it, a target is
 * chosen with probability weight / total weight, and weight 0 only when no heavier target is
 * left. The server's weighted ordering already implements the draw (its first entry is exactly
 * that choice), so the client shares it rather than keeping a second copy in step.
 */
export function pickByPriorityAndWeight<T extends { priority: number; weight: number }>(targets: readonly T[], random: () => number = Math.random): T {
  if (targets.length === 0) throw new RangeError('cannot pick from no targets');
  let lowest = Number.POSITIVE_INFINITY;
  for (const target of targets) lowest = Math.min(lowest, target.priority);
  const eligible = targets.filter((target) => target.priority === lowest);
  return weightedOrder(eligible, random)[0]!;
}
