/**
 * RFC 2782's weighted selection, applied to ordering a whole list: the chance that an entry
 * comes first is its weight over the sum of weights, and the rest follow by the same rule.
 * Sorting by the key -ln(U)/w (Efraimidis & Spirakis, 2006) draws exactly that order in
 * O(n log n) instead of RFC 2782's O(n²) repeated draws, which matters for 1,000-instance
 * answers. Weight 0 goes after every weighted entry, in random order (RFC 2782: "a very
 * small chance of being selected").
 */
export function weightedOrder<T extends { weight: number }>(entries: readonly T[], random: () => number = Math.random): readonly T[] {
  if (entries.length <= 1) return entries; // nothing to order, nothing to copy
  // The common small cases without the keyed sort, which allocates a keyed copy of the list on
  // every query (docs/benchmarks.md).
  if (entries.length === 2) {
    const [a, b] = entries as [T, T];
    const total = a.weight + b.weight;
    const aFirst = total === 0 ? random() < 0.5 : random() * total < a.weight;
    // The entries are read-only: kept in order, they can be returned as they are.
    return aFirst ? entries : [b, a];
  }
  if (entries.every((entry) => entry.weight === entries[0]!.weight && entry.weight > 0)) return shuffled(entries, random);
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

/** Fisher-Yates: equal weights make every order equally likely. */
function shuffled<T>(entries: readonly T[], random: () => number): T[] {
  const copy = entries.slice();
  for (let i = copy.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [copy[i], copy[j]] = [copy[j]!, copy[i]!];
  }
  return copy;
}
