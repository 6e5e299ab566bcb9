/**
 * `new Date(ms).toISOString()` for the instance views, which format two or three times per
 * heartbeat answer: ~450 ns each. Times within one second share everything up to the
 * milliseconds, so the prefix is cached per second and only the milliseconds are formatted.
 */
let cachedSecond = Number.NaN;
let cachedPrefix = '';

export function isoTime(ms: number): string {
  const second = Math.floor(ms / 1000);
  if (second !== cachedSecond) {
    const iso = new Date(second * 1000).toISOString(); // 2026-01-01T00:00:00.000Z
    // Years beyond 9999 change the shape; they never reach the cache.
    if (iso.length !== 24) return new Date(ms).toISOString();
    cachedSecond = second;
    cachedPrefix = iso.slice(0, 20);
  }
  const millis = ms - second * 1000;
  return `${cachedPrefix}${millis < 10 ? '00' : millis < 100 ? '0' : ''}${millis}Z`;
}
