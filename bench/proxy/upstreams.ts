/**
 * What the proxy bench forwards to: three backends registered as instances of one service.
 * Shared by the bench and by the backends process (bench/proxy/backends.ts), so the check that
 * a contender answers with a backend's body knows the bodies.
 */
export const SERVICE = 'bench';
/**
 * The same backends again as a second service, the one with a traffic policy: a policy is per
 * service and every proxy of it follows it, so `beacon proxy` without one needs a service of its own.
 */
export const POLICY_SERVICE = 'bench-policy';
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

/**
 * Backend n's tag, the same in both services: the last backend is `b`, the others `a`, so the
 * policy's split has instances in both groups, and its 90 % group more than one.
 */
export function backendTag(n: number): string {
  return n === BACKEND_COUNT - 1 ? 'b' : 'a';
}

/** How many backends carry tag `a`: all that a check of a few requests through the split must reach. */
export const SPLIT_MAIN_GROUP = BACKEND_COUNT - 1;

/** The registration of backend n listening on `port` (weight 1, as every backend). */
export function backendRegistration(n: number, port: number): string {
  return JSON.stringify({ address: '127.0.0.1', port, weight: 1, ttl: BACKEND_TTL_SECONDS, tags: [backendTag(n)] });
}

/** The policy in force for POLICY_SERVICE (issue 14's benchmark): a canary split, outlier ejection and a retry budget. */
export const BENCH_POLICY = {
  split: [
    { tag: 'a', weight: 90 },
    { tag: 'b', weight: 10 },
  ],
  outlier: { consecutiveFailures: 5, consecutiveGatewayErrors: 3, baseEjectionTime: '1s', maxEjectionPercent: 50 },
  retries: { count: 2, budgetPercent: 20 },
} as const;
