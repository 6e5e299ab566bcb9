/**
 * RFC 2782's weighted selection, applied to ordering a whole list: the chance that an entry
 * comes first is its weight over the sum of weights, and the rest follow by the same rule.
 * Sorting by the key -ln(U)/w (Efraimidis & Spirakis, 2006) draws exactly that order in
 * O(n log n) instead of RFC 2782's O(n²) repeated draws, which matters for 1,000-instance
 * answers. Weight 0 goes after every weighted entry, in random order (RFC 2782: "a very
 * small chance of being selected").
 */
export function weightedOrder<T extends { weight: number }>(entries: readonly T[], random: () => number = Math.random): T[] {
  if (entries.length <= 1) return entries.slice();
  const keyed = entries.map((entry) => ({
    entry,
    // 1 - random() lies in (0, 1], so the log is finite; weight 0 sorts last (Infinity) and
    // the second key breaks ties among those at random.
    key: entry.weight > 0 ? -Math.log(1 - random()) / entry.weight : Number.POSITIVE_INFINITY,
    tie: random(),
  }));
  keyed.sort((a, b) => a.key - b.key || a.tie - b.tie);
  return keyed.map((item) => item.entry);
}
