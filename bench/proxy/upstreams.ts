/**
 * What the proxy bench forwards to: three backends registered as instances of one service.
 * Shared by the bench and by the backends process (bench/proxy/backends.ts), so the check that
 * a contender answers with a backend's body knows the bodies.
 */
export const SERVICE = 'bench';
export const BACKEND_COUNT = 3;

/** Long enough that nothing expires during a bench run, so nothing has to heartbeat. */
export const BACKEND_TTL_SECONDS = 3600;

export function backendId(n: number): string {
  return `backend-${n}`;
}

/** Backend n's answer to every request: a small fixed JSON object that names it (its size is in docs/benchmarks.md). */
export function backendBody(n: number): string {
  return JSON.stringify({ service: SERVICE, instance: backendId(n), status: 'ok', items: [1, 2, 3], note: 'proxy bench' });
}

/** The registration of the backend listening on `port` (weight 1, as every backend). */
export function backendRegistration(port: number): string {
  return JSON.stringify({ address: '127.0.0.1', port, weight: 1, ttl: BACKEND_TTL_SECONDS });
}
