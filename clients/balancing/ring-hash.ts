import { type Endpoint, hasOnlyZeroWeights } from './endpoint.js';
import { murmur3 } from './murmur3.js';
import type { BalancingPolicy } from './policy.js';
import { pickByWeight } from './weighted-random.js';

/**
 * Entries the lightest instance gets on the ring; heavier ones get more in proportion. The
 * spread of an instance's share shrinks as 1/sqrt(entries): 512 keeps it within a few percent.
 */
const LIGHTEST_ENTRIES = 512;
/**
 * Past this many entries, every instance gets fewer per unit of weight (and the ring stops
 * growing): it bounds a rebuild, which holds the event loop (docs/benchmarks.md has the cost).
 */
const MAX_RING_ENTRIES = 65_536;

/**
 * Consistent hashing on a request key (Karger et al.; Envoy's RING_HASH): each instance is
 * hashed onto a 32-bit ring at many points, in proportion to its weight, and a key goes to the
 * first point at or after its own hash. An instance that comes or goes takes or gives back only
 * the keys on its own arcs, about 1/N of them.
 *
 * Unlike Envoy, an instance's number of points does not depend on the others: Envoy scales
 * every host so the ring has at least 1,024 entries, so a fourth host also takes points off
 * the other three and moves more keys than its own share (docs/benchmarks.md). Here the
 * lightest instance gets a fixed 512 and the rest in proportion, until the ring would pass
 * 65,536 entries; only a new lightest weight or that cap rescales everyone. A ring rather
 * than Maglev: Maglev trades minimal disruption for balance (its paper), and walking the ring
 * to the next point gives a retry a stable second choice for free.
 *
 * Instances left out of a pick (breaker open, already tried) stay on the ring and are walked
 * past, as Envoy walks to the next host: a retry of the same key always goes to the same
 * second instance, and a breaker that opens and closes moves no key for good. The ring is
 * built over `members` (the whole set) and rebuilt only when its membership or weights change.
 * A request without a key goes to a weighted random instance. Slow start does not apply: a
 * ramping weight would move keys on every pick (Envoy, too, offers slow start only for
 * round-robin and least-request).
 */
export class RingHash<E extends Endpoint> implements BalancingPolicy<E> {
  readonly name = 'ring-hash' as const;
  private ring: Ring<E> | undefined;

  constructor(private readonly random: () => number = Math.random) {}

  pick(candidates: readonly E[], key?: string, members: readonly E[] = candidates): E | undefined {
    if (candidates.length <= 1) return candidates[0];
    if (key === undefined) return pickByWeight(candidates, this.random);
    const ring = this.ringOver(members);
    const { positions, owners, hosts } = ring;
    if (positions.length === 0) return pickByWeight(candidates, this.random);
    let at = firstAtOrAfter(positions, murmur3(key));
    // Candidates are a subset of the members: as many means all of them.
    if (candidates.length === members.length) return hosts[owners[at]!];
    const stamp = ring.nextStamp();
    let usable = 0;
    for (const candidate of candidates) {
      const owner = ring.ownerOf.get(candidate);
      if (owner === undefined) continue;
      ring.stamps[owner] = stamp;
      usable += 1;
    }
    // Only instances off the ring are left (weight 0 among heavier ones): by weight, as elsewhere.
    if (usable === 0) return pickByWeight(candidates, this.random);
    for (;;) {
      const owner = owners[at]!;
      if (ring.stamps[owner] === stamp) return hosts[owner];
      at = at + 1 === positions.length ? 0 : at + 1;
    }
  }

  private ringOver(members: readonly E[]): Ring<E> {
    const ring = this.ring;
    if (ring && ring.source === members) return ring;
    if (ring && ring.holds(members)) {
      ring.source = members;
      return ring;
    }
    return (this.ring = new Ring(members));
  }
}

/** The ring for one membership: sorted positions, the instance owning each, and scratch marks for a pick. */
class Ring<E extends Endpoint> {
  source: readonly E[];
  readonly positions: Uint32Array;
  readonly owners: Uint32Array;
  readonly hosts: E[] = [];
  readonly ownerOf = new Map<E, number>();
  /** `stamps[owner] === stamp` marks a usable instance for the pick in progress, without clearing between picks. */
  readonly stamps: Uint32Array;
  private stamp = 0;
  private readonly members: readonly E[];
  private readonly weights: number[];

  constructor(members: readonly E[]) {
    this.source = members;
    this.members = [...members];
    this.weights = members.map((member) => member.weight);
    const onlyZeroWeights = hasOnlyZeroWeights(members);
    let lightest = Infinity;
    let total = 0;
    for (const member of members) {
      const weight = onlyZeroWeights ? 1 : member.weight;
      if (weight === 0) continue;
      this.ownerOf.set(member, this.hosts.length);
      this.hosts.push(member);
      lightest = Math.min(lightest, weight);
      total += weight;
    }
    const perLightest = Math.max(1, Math.min(LIGHTEST_ENTRIES, Math.floor((MAX_RING_ENTRIES * lightest) / total)));
    const counts = this.hosts.map((host) => Math.max(1, Math.round((perLightest * (onlyZeroWeights ? 1 : host.weight)) / lightest)));
    const size = counts.reduce((sum, count) => sum + count, 0);
    this.positions = new Uint32Array(size);
    this.owners = new Uint32Array(size);
    let next = 0;
    for (let owner = 0; owner < this.hosts.length; owner++) {
      const id = this.hosts[owner]!.id;
      // Seeded by the entry's number: every proxy places instance `id` at the same points.
      for (let i = 0; i < counts[owner]!; i++) {
        this.positions[next] = murmur3(id, i);
        this.owners[next++] = owner;
      }
    }
    sortByPosition(this.positions, this.owners);
    this.stamps = new Uint32Array(this.hosts.length);
  }

  /** Whether `members` are this ring's, in the same order and with the same weights. */
  holds(members: readonly E[]): boolean {
    if (members.length !== this.members.length) return false;
    for (let i = 0; i < members.length; i++) if (members[i] !== this.members[i] || members[i]!.weight !== this.weights[i]) return false;
    return true;
  }

  nextStamp(): number {
    if (this.stamp === 0xffffffff) {
      this.stamps.fill(0);
      this.stamp = 0;
    }
    return ++this.stamp;
  }
}

/**
 * Sorts the positions, carrying each one's owner along: an LSD radix sort, four passes of 8
 * bits, linear in the entries (a numeric sort of packed doubles was several times slower).
 * Stable, so equal positions keep the owners' order and every proxy builds the same ring.
 */
function sortByPosition(positions: Uint32Array, owners: Uint32Array): void {
  const size = positions.length;
  let fromPositions = positions;
  let fromOwners = owners;
  let toPositions: Uint32Array = new Uint32Array(size);
  let toOwners: Uint32Array = new Uint32Array(size);
  const starts = new Uint32Array(256);
  for (let shift = 0; shift < 32; shift += 8) {
    starts.fill(0);
    for (let i = 0; i < size; i++) starts[(fromPositions[i]! >>> shift) & 255]! += 1;
    let sum = 0;
    for (let digit = 0; digit < 256; digit++) {
      const count = starts[digit]!;
      starts[digit] = sum;
      sum += count;
    }
    for (let i = 0; i < size; i++) {
      const position = fromPositions[i]!;
      const at = starts[(position >>> shift) & 255]!++;
      toPositions[at] = position;
      toOwners[at] = fromOwners[i]!;
    }
    [fromPositions, toPositions] = [toPositions, fromPositions];
    [fromOwners, toOwners] = [toOwners, fromOwners];
  }
  // Four passes, four swaps: the sorted entries are back in the arrays given.
}

/** Index of the first position ≥ hash, wrapping to 0 past the last (binary search). */
function firstAtOrAfter(positions: Uint32Array, hash: number): number {
  let low = 0;
  let high = positions.length;
  while (low < high) {
    const middle = (low + high) >>> 1;
    if (positions[middle]! < hash) low = middle + 1;
    else high = middle;
  }
  return low === positions.length ? 0 : low;
}
