/**
 * `new Date(ms).toISOString()` for the instance views, which format three times per heartbeat
 * answer (registered, last heartbeat, expiry: three different seconds), each call a visible
 * share of a heartbeat (docs/benchmarks.md). Everything up to the milliseconds is cached per
 * second, for the few seconds in use.
 */
const prefixes = new Map<number, string>();
const MAX_CACHED_SECONDS = 64;

export function isoTime(ms: number): string {
  const second = Math.floor(ms / 1000);
  let prefix = prefixes.get(second);
  if (prefix === undefined) {
    const iso = new Date(second * 1000).toISOString(); // 2026-01-01T00:00:00.000Z
    // Years beyond 9999 (or before 0) change the shape; they are never cached.
    if (iso.length !== 24) return new Date(ms).toISOString();
    if (prefixes.size >= MAX_CACHED_SECONDS) prefixes.clear();
    prefix = iso.slice(0, 20);
    prefixes.set(second, prefix);
  }
  const millis = ms - second * 1000;
  return `${prefix}${millis < 10 ? '00' : millis < 100 ? '0' : ''}${millis}Z`;
}
