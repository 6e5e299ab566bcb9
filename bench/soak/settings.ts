import type { Fleet } from '../support/fleet.js';

/** What one soak run does; every figure is in the report, so a short trial run says it was one. */
export interface SoakSettings {
  fleet: Fleet;
  ttlSeconds: number;
  /** Each instance heartbeats every ttl/3, spread evenly over that interval. */
  heartbeatIntervalMs: number;
  heartbeatConcurrency: number;
  dnsQueriesPerSecond: number;
  watchers: number;
  /** The `wait` of each blocking query. */
  watchWaitSeconds: number;
  /** One deregister + re-register every this often. */
  churnIntervalMs: number;
  durationMs: number;
  /** Excluded from the RSS baseline: V8 and SQLite's caches settle in it. */
  warmupMs: number;
  /** RSS and /metrics every this often. */
  sampleIntervalMs: number;
  progressIntervalMs: number;
}

const MINUTE_MS = 60_000;

/** The soak: 10,000 instances heartbeating at TTL/3, DNS, blocking queries and churn; SOAK_MINUTES sets the length. */
export function soakSettingsFromEnv(env: NodeJS.ProcessEnv): SoakSettings {
  const minutes = Number(env.SOAK_MINUTES ?? '10');
  if (!Number.isFinite(minutes) || minutes <= 0) throw new Error(`SOAK_MINUTES must be a positive number of minutes, not ${env.SOAK_MINUTES}`);
  const durationMs = Math.round(minutes * MINUTE_MS);
  const ttlSeconds = 15;
  return {
    fleet: { instances: 10_000, services: 100 },
    ttlSeconds,
    heartbeatIntervalMs: (ttlSeconds * 1000) / 3,
    heartbeatConcurrency: 64,
    dnsQueriesPerSecond: 500,
    watchers: 50,
    watchWaitSeconds: 30,
    churnIntervalMs: 1_000,
    durationMs,
    // The first minute, or a tenth of a shorter run.
    warmupMs: Math.min(MINUTE_MS, durationMs / 10),
    sampleIntervalMs: 5_000,
    progressIntervalMs: 30_000,
  };
}
