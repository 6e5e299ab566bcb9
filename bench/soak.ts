import { mkdtempSync, rmSync } from 'node:fs';
import { Agent } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { packageRoot } from '../server/paths.js';
import { updateBenchmarksDoc } from './report.js';
import { registerInstances } from './support/beacon-http.js';
import { beaconStart, dnsPortOf } from './support/beacon-process.js';
import { instancePath, REGISTRATION } from './support/fleet.js';
import { type ListeningProcess, withListeningProcess } from './support/listening-process.js';
import { currentLoad, readMachine } from './support/machine.js';
import { type ChurnCount, runChurn } from './soak/churn.js';
import { type DnsCount, runDnsQueries } from './soak/dns-queries.js';
import { ErrorTally } from './soak/error-tally.js';
import { type HeartbeatCount, runHeartbeats } from './soak/heartbeats.js';
import { watchOwnEventLoop } from './soak/own-event-loop.js';
import { rssGrowth } from './soak/rss-growth.js';
import { sampleOnce, sampleServer, type ServerSample, type Sampling, udpReceiveBufferDrops } from './soak/server-samples.js';
import { type SoakSettings, soakSettingsFromEnv } from './soak/settings.js';
import { checkSoak, renderSoakSection, SOAK_SECTION, type SoakResult } from './soak/soak-report.js';
import { runWatchers, type WatchCount } from './soak/watchers.js';

const DOC = join(packageRoot, 'docs/benchmarks.md');
const DOMAIN = 'beacon.internal';
const REGISTRATION_CONCURRENCY = 32;
/** Past the deadline the load has this long to wind down (in-flight requests time out in 10 s) before the run is abandoned. */
const WIND_DOWN_GUARD_MS = 90_000;

/**
 * `npm run soak`: Beacon under a steady, realistic load for SOAK_MINUTES (default 10), then a
 * report on stdout and in docs/benchmarks.md; exits 1 when a pass criterion fails. Progress
 * goes to stderr every 30 s.
 */
async function main(): Promise<void> {
  const settings = soakSettingsFromEnv(process.env);
  const startedAt = Date.now();
  const log = (line: string) => process.stderr.write(`[${((Date.now() - startedAt) / 1000).toFixed(0).padStart(3)} s] ${line}\n`);
  const loadBefore = currentLoad();
  const workDir = mkdtempSync(join(tmpdir(), 'beacon-soak-'));
  try {
    const result = await withListeningProcess(beaconStart(join(workDir, 'soak.db'), undefined), async (server) => {
      log(`Beacon pid ${server.pid} at ${server.url}, DNS port ${dnsPortOf(server)}`);
      return soak(server, settings, log);
    });
    const report: SoakResult = { ...result, machine: readMachine({}, 'load generator', loadBefore, 'Beacon') };
    const checks = checkSoak(report);
    const section = renderSoakSection(report, checks);
    process.stdout.write(`${section}\n`);
    updateBenchmarksDoc(DOC, SOAK_SECTION, section, 'npm run soak');
    log(`written to ${DOC}`);
    const failed = checks.filter((check) => !check.met);
    for (const check of failed) log(`FAILED: ${check.name}: ${check.measured} (goal ${check.target})`);
    if (failed.length > 0) process.exitCode = 1;
  } finally {
    rmSync(workDir, { recursive: true, force: true });
  }
}

async function soak(server: ListeningProcess, settings: SoakSettings, log: (line: string) => void): Promise<Omit<SoakResult, 'machine'>> {
  const { fleet } = settings;
  const registrationBody = JSON.stringify({ ...REGISTRATION, ttl: settings.ttlSeconds });
  await registerInstances(server.url, fleet.instances, REGISTRATION_CONCURRENCY, (n) => ({ path: instancePath(fleet, n), body: registrationBody }));
  log(`registered ${fleet.instances.toLocaleString('en-US')} instances; load for ${settings.durationMs / 1000} s`);

  const errors = new ErrorTally();
  const loadStart = Date.now();
  const deadline = loadStart + settings.durationMs;
  const sampling: Sampling = { url: server.url, pid: server.pid, startedAt: loadStart, intervalMs: settings.sampleIntervalMs, deadline, errors };
  const first = await sampleOnce(sampling);
  const dropsBefore = udpReceiveBufferDrops();
  const ownEventLoop = watchOwnEventLoop();
  const heartbeats: HeartbeatCount = { sent: 0, late: 0 };
  const dns: DnsCount = { a: 0, srv: 0, truncated: 0 };
  const watches: WatchCount = { woken: 0, timedOut: 0 };
  const churn: ChurnCount = { deregistered: 0, registered: 0 };
  // The first scrape's event-loop figures cover the registration, not the load: only its RSS counts.
  const samples: ServerSample[] = [{ elapsedMs: first.elapsedMs, rssBytes: first.rssBytes }];
  const churning = new Set<number>();
  const agents = {
    heartbeats: new Agent({ keepAlive: true, maxSockets: settings.heartbeatConcurrency }),
    churn: new Agent({ keepAlive: true, maxSockets: 1 }),
    watchers: new Agent({ keepAlive: true, maxSockets: settings.watchers }),
  };

  const progress = setInterval(() => {
    const last = samples.at(-1);
    const p99 = last?.eventLoopP99Seconds === undefined ? '–' : `${(last.eventLoopP99Seconds * 1000).toFixed(1)} ms`;
    const longest = last?.eventLoopMaxSeconds === undefined ? '–' : `${(last.eventLoopMaxSeconds * 1000).toFixed(0)} ms`;
    log(
      `heartbeats ${heartbeats.sent.toLocaleString('en-US')} (late ${heartbeats.late}), DNS ${(dns.a + dns.srv).toLocaleString('en-US')}, ` +
        `watches ${watches.woken} woken / ${watches.timedOut} waited out, churn ${churn.registered}, errors ${errors.total}, ` +
        `RSS ${last ? (last.rssBytes / 2 ** 20).toFixed(1) : '–'} MB, event-loop p99 ${p99} (longest ${longest})`,
    );
  }, settings.progressIntervalMs);
  // Bounded: past the deadline plus the wind-down, the run is abandoned rather than left hanging.
  const guard = setTimeout(() => {
    log(`the load did not wind down within ${WIND_DOWN_GUARD_MS / 1000} s of the deadline; stopping`);
    void server.stop().finally(() => process.exit(1));
  }, settings.durationMs + WIND_DOWN_GUARD_MS);
  try {
    await Promise.all([
      runHeartbeats({ url: server.url, agent: agents.heartbeats, fleet, intervalMs: settings.heartbeatIntervalMs, concurrency: settings.heartbeatConcurrency, deadline, churning, errors }, heartbeats),
      runDnsQueries({ port: dnsPortOf(server), domain: DOMAIN, services: fleet.services, queriesPerSecond: settings.dnsQueriesPerSecond, deadline, errors }, dns),
      runWatchers({ url: server.url, agent: agents.watchers, watchers: settings.watchers, services: fleet.services, waitSeconds: settings.watchWaitSeconds, deadline, errors }, watches),
      runChurn({ url: server.url, agent: agents.churn, fleet, registrationBody, intervalMs: settings.churnIntervalMs, services: Math.min(settings.watchers, fleet.services), deadline, churning, errors }, churn),
      sampleServer(sampling, samples),
    ]);
  } finally {
    clearInterval(progress);
    clearTimeout(guard);
    for (const agent of Object.values(agents)) agent.destroy();
  }
  const ranMs = Date.now() - loadStart;
  const loadGenerator = ownEventLoop();
  const dropsAfter = udpReceiveBufferDrops();
  const last = await sampleOnce(sampling);
  log(`load stopped after ${(ranMs / 1000).toFixed(0)} s; errors ${errors.total}`);
  return {
    date: new Date(loadStart),
    settings,
    ranMs,
    heartbeats,
    dns,
    watches,
    churn,
    errors,
    samples,
    rss: rssGrowth(samples, settings.warmupMs, settings.durationMs),
    expirations: (last.expirations ?? Number.NaN) - (first.expirations ?? Number.NaN),
    expirationsWithheld: last.expirationsWithheld ?? Number.NaN,
    loadGenerator,
    ...(dropsBefore === undefined || dropsAfter === undefined ? {} : { udpDrops: dropsAfter - dropsBefore }),
  };
}

main().catch((error: unknown) => {
  process.stderr.write(`soak: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exitCode = 1;
});
