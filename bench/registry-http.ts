import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { packageRoot } from '../server/paths.js';
import { createThrowawayCa } from '../clients/tls/openssl-ca.js';
import { heartbeatResponseBytes, readMetric, registerFleet } from './support/beacon-http.js';
import { beaconStart } from './support/beacon-process.js';
import { type CpuPlan, onCpu } from './support/cpu.js';
import { type Fleet, REGISTRATION_BODY } from './support/fleet.js';
import { type ListeningProcess, withListeningProcess } from './support/listening-process.js';
import { duringWork } from './support/process-cpu.js';
import { median } from './support/stats.js';
import { runWrk, type WrkLoad, type WrkResult } from './support/wrk.js';

export interface HttpBenchSettings {
  rounds: number;
  fleet: Fleet;
  /** Open connections, each with one request in flight (wrk keeps them busy). */
  connections: number;
  warmupSeconds: number;
  heartbeatSeconds: number;
  registrationSeconds: number;
  cpus: CpuPlan;
  /** Where each round's fresh database file goes. */
  workDir: string;
}

/** A wrk run, plus the server CPU time each completed request cost (Linux only). */
export interface LoadResult extends WrkResult {
  cpuUsPerRequest?: number;
}

export interface HttpRound {
  bareHeartbeats: LoadResult;
  /** The bare route served over HTTPS: what TLS costs the platform itself, without Beacon. */
  bareHttpsHeartbeats: LoadResult;
  beaconHeartbeats: LoadResult;
  /** The same heartbeats against Beacon serving HTTPS (--tls-cert), wrk keeping its connections alive. */
  httpsHeartbeats: LoadResult;
  registrations: LoadResult;
}

export interface HttpBenchResult {
  rounds: HttpRound[];
  responseBytes: { bare: number; beacon: number };
}

export interface HttpSummary {
  bareHeartbeats: LoadResult;
  bareHttpsHeartbeats: LoadResult;
  beaconHeartbeats: LoadResult;
  httpsHeartbeats: LoadResult;
  registrations: LoadResult;
  /** Beacon's heartbeat figures over the bare route's. */
  ratios: LoadRatios;
  /** Beacon's heartbeat figures over HTTPS over its own over HTTP. */
  httpsRatios: LoadRatios;
  /** The same for the bare route: the reference for `httpsRatios`. */
  bareHttpsRatios: LoadRatios;
}

/** One load result's figures over another's (req/s, latencies, CPU per request). */
export interface LoadRatios {
  requestsPerSecond: number;
  p50: number;
  p99: number;
  cpuPerRequest?: number;
}

const HEARTBEAT_SCRIPT = join(packageRoot, 'bench/wrk/heartbeat.lua');
const REGISTER_SCRIPT = join(packageRoot, 'bench/wrk/register.lua');
const BARE_FASTIFY = fileURLToPath(new URL('./bare-fastify.js', import.meta.url));

/**
 * Heartbeats against Beacon and against a bare fastify route, then Beacon's registration rate.
 * Each round measures the baseline and Beacon back to back, so the shared machine's noise
 * lands on both sides of the ratio; every server is a fresh process.
 */
export async function benchRegistryHttp(settings: HttpBenchSettings, log: (line: string) => void): Promise<HttpBenchResult> {
  const rounds: HttpRound[] = [];
  const responseBytes = { bare: 0, beacon: 0 };
  const tls = await serverCertificate(join(settings.workDir, 'tls'));
  for (let round = 1; round <= settings.rounds; round++) {
    const bare = await measureBareFastify(settings, tls, round % 2 === 0);
    log(`round ${round}/${settings.rounds}: bare fastify ${describeLoad(bare.heartbeats)}; over HTTPS ${describeLoad(bare.httpsHeartbeats)}`);
    const beacon = await measureBeacon(settings, join(settings.workDir, `round-${round}`), tls, round % 2 === 0);
    log(`round ${round}/${settings.rounds}: Beacon heartbeats ${describeLoad(beacon.heartbeats)}; over HTTPS ${describeLoad(beacon.httpsHeartbeats)}; registrations ${describeLoad(beacon.registrations)}`);
    rounds.push({ bareHeartbeats: bare.heartbeats, bareHttpsHeartbeats: bare.httpsHeartbeats, beaconHeartbeats: beacon.heartbeats, httpsHeartbeats: beacon.httpsHeartbeats, registrations: beacon.registrations });
    responseBytes.bare = bare.responseBytes;
    responseBytes.beacon = beacon.responseBytes;
  }
  return { rounds, responseBytes };
}

/**
 * Medians over the rounds. Each ratio is the median of the rounds' own ratios: a round's two
 * runs are back to back, so they share the machine's mood, which a ratio of medians would not.
 */
export function summarizeHttp(rounds: readonly HttpRound[]): HttpSummary {
  return {
    bareHeartbeats: medianResult(rounds.map((round) => round.bareHeartbeats)),
    bareHttpsHeartbeats: medianResult(rounds.map((round) => round.bareHttpsHeartbeats)),
    beaconHeartbeats: medianResult(rounds.map((round) => round.beaconHeartbeats)),
    httpsHeartbeats: medianResult(rounds.map((round) => round.httpsHeartbeats)),
    registrations: medianResult(rounds.map((round) => round.registrations)),
    ratios: medianRatios(rounds.map((round) => heartbeatRatios(round))),
    httpsRatios: medianRatios(rounds.map((round) => loadRatios(round.httpsHeartbeats, round.beaconHeartbeats))),
    bareHttpsRatios: medianRatios(rounds.map((round) => loadRatios(round.bareHttpsHeartbeats, round.bareHeartbeats))),
  };
}

export function heartbeatRatios({ bareHeartbeats: bare, beaconHeartbeats: beacon }: HttpRound): LoadRatios {
  return loadRatios(beacon, bare);
}

/** `result`'s figures over `baseline`'s; CPU only when both were measured. */
export function loadRatios(result: LoadResult, baseline: LoadResult): LoadRatios {
  return {
    requestsPerSecond: result.requestsPerSecond / baseline.requestsPerSecond,
    p50: result.p50Ms / baseline.p50Ms,
    p99: result.p99Ms / baseline.p99Ms,
    ...(baseline.cpuUsPerRequest && result.cpuUsPerRequest ? { cpuPerRequest: result.cpuUsPerRequest / baseline.cpuUsPerRequest } : {}),
  };
}

/** Ratio by ratio medians over the rounds (CPU only when every round has it). */
export function medianRatios(perRound: readonly LoadRatios[]): LoadRatios {
  const cpu = perRound.flatMap((ratios) => (ratios.cpuPerRequest === undefined ? [] : [ratios.cpuPerRequest]));
  return {
    requestsPerSecond: median(perRound.map((ratios) => ratios.requestsPerSecond)),
    p50: median(perRound.map((ratios) => ratios.p50)),
    p99: median(perRound.map((ratios) => ratios.p99)),
    ...(cpu.length === perRound.length ? { cpuPerRequest: median(cpu) } : {}),
  };
}

/**
 * The bare route over HTTP and over HTTPS (the same certificate as Beacon's), both started
 * and warmed up first so their runs follow each other; HTTPS first when `httpsFirst`.
 */
async function measureBareFastify(settings: HttpBenchSettings, tls: ServerCertificate, httpsFirst: boolean) {
  const start = (extra: string[], scheme: string) => {
    const [command, args] = onCpu(settings.cpus.server, process.execPath, [BARE_FASTIFY, ...extra]);
    return { command, args, listeningLine: new RegExp(`bare fastify listening on (${scheme}://\\S+)`), name: `bare fastify (${scheme})` };
  };
  return withListeningProcess(start([], 'http'), (server) =>
    withListeningProcess(start([tls.cert, tls.key], 'https'), async (secure) => {
      const responseBytes = await heartbeatResponseBytes(server.url, settings.fleet);
      await runWrk(heartbeatLoad(server, settings, settings.warmupSeconds));
      await runWrk(heartbeatLoad(secure, settings, settings.warmupSeconds));
      const overHttp = () => runLoad(server, heartbeatLoad(server, settings, settings.heartbeatSeconds));
      const overHttps = () => runLoad(secure, heartbeatLoad(secure, settings, settings.heartbeatSeconds));
      const [heartbeats, httpsHeartbeats] = httpsFirst ? await overHttps().then(async (https) => [await overHttp(), https]) : await overHttp().then(async (http) => [http, await overHttps()]);
      return { heartbeats: heartbeats!, httpsHeartbeats: httpsHeartbeats!, responseBytes };
    }),
  );
}

/**
 * Beacon over HTTP and a second Beacon serving HTTPS (--tls-cert), both started and registered
 * first, so that their heartbeat runs follow each other within seconds and share the machine's
 * mood; every other round runs HTTPS first, so a drift in load does not favour one side. wrk
 * keeps its connections alive: this is the steady cost of TLS (record encryption), not of
 * handshakes. Over HTTPS wrk's non-2xx check is what vouches for the answers.
 */
async function measureBeacon(settings: HttpBenchSettings, dbPrefix: string, tls: ServerCertificate, httpsFirst: boolean) {
  return withListeningProcess(beaconStart(`${dbPrefix}.db`, settings.cpus.server), async (server) =>
    withListeningProcess(beaconStart(`${dbPrefix}-https.db`, settings.cpus.server, ['--tls-cert', tls.cert, '--tls-key', tls.key]), async (secure) => {
      await registerFleet(server.url, settings.fleet, settings.connections);
      await registerFleet(secure.url, settings.fleet, settings.connections, tls.ca);
      const responseBytes = await heartbeatResponseBytes(server.url, settings.fleet);
      await runWrk(heartbeatLoad(server, settings, settings.warmupSeconds));
      await runWrk(heartbeatLoad(secure, settings, settings.warmupSeconds));
      const overHttp = () => measureBeaconHeartbeats(server, settings);
      const overHttps = () => runLoad(secure, heartbeatLoad(secure, settings, settings.heartbeatSeconds));
      let heartbeats: LoadResult;
      let httpsHeartbeats: LoadResult;
      if (httpsFirst) {
        httpsHeartbeats = await overHttps();
        heartbeats = await overHttp();
      } else {
        heartbeats = await overHttp();
        httpsHeartbeats = await overHttps();
      }
      await secure.stop();
      const registrations = await measureRegistrations(server, settings);
      return { heartbeats, httpsHeartbeats, registrations, responseBytes };
    }),
  );
}

interface ServerCertificate {
  cert: string;
  key: string;
  ca: Buffer;
}

/** A throwaway CA and a certificate for 127.0.0.1 signed by it, made once per run (nothing kept). */
async function serverCertificate(dir: string): Promise<ServerCertificate> {
  const ca = await createThrowawayCa(dir, 'Beacon bench CA');
  const issued = await ca.issue('registry', { altNames: ['DNS:localhost', 'IP:127.0.0.1'], usage: 'server', days: 1 });
  return { ...issued, ca: readFileSync(ca.caCert) };
}

/** Heartbeats spread over the fleet (wrk/heartbeat.lua). A warm-up run lets V8 optimise first. */
export function heartbeatLoad(server: ListeningProcess, settings: Pick<HttpBenchSettings, 'fleet' | 'connections' | 'cpus'>, durationSeconds: number): WrkLoad {
  return {
    url: server.url,
    script: HEARTBEAT_SCRIPT,
    scriptArgs: [String(settings.fleet.instances), String(settings.fleet.services)],
    connections: settings.connections,
    durationSeconds,
    cpu: settings.cpus.loadGenerator,
  };
}

/**
 * wrk's 2xx count only says the server answered; Beacon's own counter says each answer was a
 * heartbeat of a registered instance. Requests still in flight when wrk stops may be counted by
 * Beacon and not by wrk, hence the slack of one per connection.
 */
async function measureBeaconHeartbeats(server: ListeningProcess, settings: HttpBenchSettings): Promise<LoadResult> {
  const before = await readMetric(server.url, 'beacon_heartbeats_total');
  const result = await runLoad(server, heartbeatLoad(server, settings, settings.heartbeatSeconds));
  const counted = (await readMetric(server.url, 'beacon_heartbeats_total')) - before;
  if (counted < result.requests || counted > result.requests + settings.connections) {
    throw new Error(`wrk completed ${result.requests} heartbeats but Beacon counted ${counted}`);
  }
  return result;
}

/** Fresh ids every request (wrk/register.lua), so each one is a durable insert, answered 201. */
async function measureRegistrations(server: ListeningProcess, settings: HttpBenchSettings): Promise<LoadResult> {
  const before = await readMetric(server.url, 'beacon_instances');
  const result = await runLoad(server, registrationLoad(server, settings, settings.registrationSeconds));
  const added = (await readMetric(server.url, 'beacon_instances')) - before;
  if (added < result.requests) throw new Error(`wrk completed ${result.requests} registrations but Beacon holds only ${added} more instances`);
  return result;
}

/**
 * Registrations of fresh ids (wrk/register.lua) over the fleet's services; `tag` starts each id,
 * so several runs against one registry never send the same one.
 */
export function registrationLoad(
  server: ListeningProcess,
  settings: Pick<HttpBenchSettings, 'fleet' | 'connections' | 'cpus'>,
  durationSeconds: number,
  tag = 'r',
): WrkLoad {
  return {
    url: server.url,
    script: REGISTER_SCRIPT,
    scriptArgs: [String(settings.fleet.services), REGISTRATION_BODY, tag],
    connections: settings.connections,
    durationSeconds,
    cpu: settings.cpus.loadGenerator,
  };
}

/** A wrk run and the server CPU it cost per completed request. */
export async function runLoad(server: ListeningProcess, load: WrkLoad): Promise<LoadResult> {
  const { result, cpuMs } = await duringWork(server.pid, () => runWrk(load));
  return cpuMs === undefined ? result : { ...result, cpuUsPerRequest: (cpuMs * 1000) / result.requests };
}

export function medianResult(results: readonly LoadResult[]): LoadResult {
  const cpu = results.flatMap((result) => (result.cpuUsPerRequest === undefined ? [] : [result.cpuUsPerRequest]));
  return {
    requests: median(results.map((result) => result.requests)),
    requestsPerSecond: median(results.map((result) => result.requestsPerSecond)),
    p50Ms: median(results.map((result) => result.p50Ms)),
    p99Ms: median(results.map((result) => result.p99Ms)),
    ...(cpu.length === results.length ? { cpuUsPerRequest: median(cpu) } : {}),
  };
}

export function describeLoad(result: LoadResult): string {
  const cpu = result.cpuUsPerRequest === undefined ? '' : `, ${result.cpuUsPerRequest.toFixed(1)} µs CPU/request`;
  return `${Math.round(result.requestsPerSecond)} req/s, p50 ${result.p50Ms} ms, p99 ${result.p99Ms} ms${cpu}`;
}
