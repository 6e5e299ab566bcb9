/**
 * Which live node expires and removes an instance: rendezvous (highest-random-weight) hashing,
 * so every node that sees the same live nodes picks the same owner without asking anyone, and
 * when a node comes or goes only the instances it owned (about 1/N) change hands.
 */
export function ownerOf(key: string, nodes: Iterable<string>): string | undefined {
  let owner: string | undefined;
  let best = -1;
  for (const node of nodes) {
    const weight = fnv1a(`${node}\u0000${key}`);
    if (weight > best || (weight === best && owner !== undefined && node < owner)) {
      best = weight;
      owner = node;
    }
  }
  return owner;
}

/** 32-bit FNV-1a: cheap and well spread over short strings; no security needed here. */
function fnv1a(text: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  return hash >>> 0;
}
