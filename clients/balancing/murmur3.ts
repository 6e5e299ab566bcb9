/**
 * MurmurHash3 x86_32 (Austin Appleby's reference, public domain) of a string's UTF-16LE
 * encoding, read straight from its code units: no buffer, no allocation. The ring needs a
 * fast, well-spread, non-cryptographic hash that every proxy computes alike; murmur3's final
 * mix makes neighbouring keys (`user-1`, `user-2`) land far apart, which plain FNV does not.
 */
export function murmur3(text: string, seed = 0): number {
  let h = seed >>> 0;
  const units = text.length;
  let i = 0;
  for (; i + 1 < units; i += 2) {
    let k = text.charCodeAt(i) | (text.charCodeAt(i + 1) << 16);
    k = Math.imul(k, 0xcc9e2d51);
    k = (k << 15) | (k >>> 17);
    k = Math.imul(k, 0x1b873593);
    h ^= k;
    h = (h << 13) | (h >>> 19);
    h = (Math.imul(h, 5) + 0xe6546b64) | 0;
  }
  if (i < units) {
    let k = text.charCodeAt(i);
    k = Math.imul(k, 0xcc9e2d51);
    k = (k << 15) | (k >>> 17);
    k = Math.imul(k, 0x1b873593);
    h ^= k;
  }
  h ^= units * 2;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}
