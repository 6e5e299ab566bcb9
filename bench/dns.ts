import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { captureAnswers } from './dns-answers.js';
import { DOMAIN, LARGE, largeRegistration, SMALL_INSTANCES, smallRegistration, WIDE, writeQueryFile } from './dns-fleet.js';
import { checkDnsmasqAnswers, dnsmasqStart, writeDnsmasqConfig } from './dnsmasq-reference.js';
import type { TcpProbeResult } from './dns-tcp-probe.js';
import { readMetric, registerInstances } from './support/beacon-http.js';
import { beaconStart, dnsPortOf } from './support/beacon-process.js';
import { type CpuPlan, onCpu } from './support/cpu.js';
import { type DnsperfLoad, type DnsperfResult, runDnsperf } from './support/dnsperf.js';
import { freePort } from './support/free-port.js';
import { type ListeningProcess, type ProcessStart, withListeningProcess } from './support/listening-process.js';
import { duringWork } from './support/process-cpu.js';
import { runToExit } from './support/run-to-exit.js';
import { max, median, percentileOfSorted } from './support/stats.js';
import { inTurns } from './support/turns.js';

export interface DnsBenchSettings {
  rounds: number;
  /** Each measured dnsperf run, at full load and at half rate. */
  durationSeconds: number;
  warmupSeconds: number;
  /** dnsperf's queries in flight (-q) and UDP sockets (-c). */
  outstanding: number;
  clients: number;
  /** Sequential TCP queries for the 1,000-instance SRV answer, after a few untimed ones. */
  tcpQueries: number;
  registrationConcurrency: number;
  /** Also measure dnsmasq (a C server) at half rate, beside the ceiling (when it is installed). */
  dnsmasq: boolean;
  cpus: CpuPlan;
  workDir: string;
}

/** What a dnsperf run at full load needs to know of the bench's settings. */
export type DnsperfSettings = Pick<DnsBenchSettings, 'durationSeconds' | 'warmupSeconds' | 'outstanding' | 'clients' | 'cpus'>;

/** A dnsperf run plus the server CPU time each completed query cost (Linux only). */
export interface DnsLoadResult extends DnsperfResult {
  cpuUsPerQuery?: number;
}

export interface DnsRound {
  ceiling: DnsLoadResult;
  /** Beacon holding only the queried services (100 instances). */
  beacon: DnsLoadResult;
  /** Beacon holding 100,000 instances in 10,000 services, asked the same questions. */
  beaconLarge: DnsLoadResult;
  halfRate: HalfRate;
  tcp: TcpProbeResult;
}

/** The servers at half of a round's Beacon peak, with per-query latencies. */
export interface HalfRate {
  queriesPerSecond: number;
  ceiling: DnsLoadResult;
  beacon: DnsLoadResult;
  /** With settings.dnsmasq only. */
  dnsmasq?: DnsLoadResult;
}

export interface DnsBenchResult {
  rounds: DnsRound[];
  /** Registering the large registry over HTTP, once per bench run. */
  largeRegistration: { instances: number; seconds: number };
}

const CEILING = fileURLToPath(new URL('./dns-ceiling.js', import.meta.url));
const TCP_PROBE = fileURLToPath(new URL('./dns-tcp-probe.js', import.meta.url));
const TCP_WARMUP_QUERIES = 20;
const DNSMASQ_CONFIG = 'dnsmasq.conf';

/**
 * dnsperf against the Node ceiling and Beacon. The large registry is registered once and kept
 * for the whole run (registering it over HTTP every round would add its time to each round;
 * docs/benchmarks.md); every round starts a fresh ceiling and a fresh small Beacon and
 * measures, back to back: the ceiling, Beacon, then Beacon and the ceiling at half Beacon's
 * peak rate (in turns, which first alternating) and dnsmasq at that rate when asked, then Beacon
 * with the large registry, then the 1,000-instance SRV answer over TCP. Only the process under
 * load is busy: all servers share the server CPU, the load generators the other.
 */
export async function benchDns(settings: DnsBenchSettings, log: (line: string) => void): Promise<DnsBenchResult> {
  const queryFile = join(settings.workDir, 'dns-queries.txt');
  const answersFile = join(settings.workDir, 'dns-answers.json');
  writeQueryFile(queryFile);
  if (settings.dnsmasq) writeDnsmasqConfig(join(settings.workDir, DNSMASQ_CONFIG));
  return withListeningProcess(beaconStart(join(settings.workDir, 'dns-large.db'), settings.cpus.server), async (large) => {
    const started = Date.now();
    await registerInstances(large.url, LARGE.instances, settings.registrationConcurrency, largeRegistration);
    const seconds = (Date.now() - started) / 1000;
    log(`DNS: registered ${LARGE.instances.toLocaleString('en-US')} instances in ${seconds.toFixed(1)} s`);
    await captureAnswers(dnsPortOf(large), answersFile);
    const rounds: DnsRound[] = [];
    for (let round = 1; round <= settings.rounds; round++) {
      const result = await measureRound(settings, { large, queryFile, answersFile, round });
      log(`DNS round ${round}/${settings.rounds}: ${describeRound(result)}`);
      rounds.push(result);
    }
    return { rounds, largeRegistration: { instances: LARGE.instances, seconds } };
  });
}

interface RoundContext {
  large: ListeningProcess;
  queryFile: string;
  answersFile: string;
  round: number;
}

async function measureRound(settings: DnsBenchSettings, context: RoundContext): Promise<DnsRound> {
  const ceilingStart = nodeProcess(settings, CEILING, [context.answersFile], /DNS ceiling listening on (udp:\/\/\S+)/, 'DNS ceiling');
  const smallStart = beaconStart(join(settings.workDir, `dns-small-${context.round}.db`), settings.cpus.server);
  return withListeningProcess(ceilingStart, (ceilingProcess) =>
    withListeningProcess(smallStart, async (small) => {
      await registerInstances(small.url, SMALL_INSTANCES, settings.registrationConcurrency, smallRegistration);
      const ceilingPort = Number(new URL(ceilingProcess.url).port);
      const ceiling = await measurePeak(settings, ceilingProcess, ceilingPort, context.queryFile);
      const beacon = await measureBeaconPeak(settings, small, context.queryFile);
      const halfRate = beacon.queriesPerSecond / 2;
      const atHalf = (server: ListeningProcess, port: number) =>
        measure(server, dnsperfLoad(settings, port, context.queryFile, settings.durationSeconds, { queriesPerSecond: halfRate, latencies: true }));
      // The half-rate runs come before the large registry's load, whose garbage collection on the
      // server CPU afterwards would lengthen the tail of whichever server came next; and which of
      // Beacon and the ceiling goes first alternates from round to round.
      const [beaconAtHalf, ceilingAtHalf] = await inTurns(
        context.round,
        () => atHalf(small, dnsPortOf(small)),
        () => atHalf(ceilingProcess, ceilingPort),
      );
      const half: HalfRate = {
        queriesPerSecond: halfRate,
        ceiling: ceilingAtHalf,
        beacon: beaconAtHalf,
        ...(settings.dnsmasq ? { dnsmasq: await measureDnsmasq(settings, atHalf) } : {}),
      };
      const beaconLarge = await measureBeaconPeak(settings, context.large, context.queryFile);
      const tcp = await probeTcp(settings, dnsPortOf(context.large));
      return { ceiling, beacon, beaconLarge, halfRate: half, tcp };
    }),
  );
}

/** A fresh dnsmasq, checked to give Beacon's records, measured at half rate (C needs no warm-up). */
async function measureDnsmasq(settings: DnsBenchSettings, atHalf: (server: ListeningProcess, port: number) => Promise<DnsLoadResult>): Promise<DnsLoadResult> {
  const port = await freePort();
  return withListeningProcess(dnsmasqStart(join(settings.workDir, DNSMASQ_CONFIG), port, settings.cpus.server), async (dnsmasq) => {
    await checkDnsmasqAnswers(port);
    return atHalf(dnsmasq, port);
  });
}

/** A discarded warm-up run lets V8 optimise first; then the measured one. */
async function measurePeak(settings: DnsperfSettings, server: ListeningProcess, port: number, queryFile: string): Promise<DnsLoadResult> {
  await runDnsperf(dnsperfLoad(settings, port, queryFile, settings.warmupSeconds));
  return measure(server, dnsperfLoad(settings, port, queryFile, settings.durationSeconds));
}

/**
 * dnsperf's count of answers only says something answered NOERROR; Beacon's own counter says
 * Beacon did. Answers lost on the way back were still counted by Beacon, hence up to `sent`.
 */
export async function measureBeaconPeak(settings: DnsperfSettings, beacon: ListeningProcess, queryFile: string): Promise<DnsLoadResult> {
  const port = dnsPortOf(beacon);
  await runDnsperf(dnsperfLoad(settings, port, queryFile, settings.warmupSeconds));
  const before = await readMetric(beacon.url, 'beacon_dns_responses_total');
  const result = await measure(beacon, dnsperfLoad(settings, port, queryFile, settings.durationSeconds));
  const counted = (await readMetric(beacon.url, 'beacon_dns_responses_total')) - before;
  if (counted < result.completed || counted > result.sent) {
    throw new Error(`dnsperf completed ${result.completed} of ${result.sent} queries but Beacon counted ${counted} answers`);
  }
  return result;
}

async function measure(server: ListeningProcess, load: DnsperfLoad): Promise<DnsLoadResult> {
  const { result, cpuMs } = await duringWork(server.pid, () => runDnsperf(load));
  return cpuMs === undefined ? result : { ...result, cpuUsPerQuery: (cpuMs * 1000) / result.completed };
}

function dnsperfLoad(
  settings: DnsperfSettings,
  port: number,
  queryFile: string,
  durationSeconds: number,
  extra: Pick<DnsperfLoad, 'queriesPerSecond' | 'latencies'> = {},
): DnsperfLoad {
  return { port, queryFile, durationSeconds, outstanding: settings.outstanding, clients: settings.clients, cpu: settings.cpus.loadGenerator, ...extra };
}

async function probeTcp(settings: DnsBenchSettings, port: number): Promise<TcpProbeResult> {
  const name = `${WIDE.service}.service.${DOMAIN}`;
  const [command, args] = onCpu(settings.cpus.loadGenerator, process.execPath, [
    TCP_PROBE,
    String(port),
    name,
    String(TCP_WARMUP_QUERIES),
    String(settings.tcpQueries),
  ]);
  const { code, output } = await runToExit(command, args, 60_000);
  if (code !== 0) throw new Error(`the TCP probe exited with ${code}:\n${output}`);
  const result = JSON.parse(output) as TcpProbeResult;
  if (result.srvRecords !== result.answerCount || result.distinctTargets !== result.srvRecords) {
    throw new Error(`the TCP answer for ${name} holds ${result.srvRecords} SRV records naming ${result.distinctTargets} targets; expected distinct targets`);
  }
  return result;
}

function nodeProcess(settings: DnsBenchSettings, script: string, scriptArgs: string[], listeningLine: RegExp, name: string): ProcessStart {
  const [command, args] = onCpu(settings.cpus.server, process.execPath, [script, ...scriptArgs]);
  return { command, args, listeningLine, name };
}

/** The 1,000-instance SRV answer over TCP, over the rounds. */
export interface TcpSummary {
  /** Median over the rounds of each round's median and p99 round trip; the worst of all. */
  medianMs: number;
  p99Ms: number;
  worstMs: number;
  /** The last round's answer. */
  answer: Omit<TcpProbeResult, 'roundTripsMs'>;
}

export interface DnsSummary {
  ceiling: DnsLoadResult;
  beacon: DnsLoadResult;
  beaconLarge: DnsLoadResult;
  halfRate: HalfRate;
  tcp: TcpSummary;
  /** Medians of the rounds' own ratios: a round's runs are back to back, so they share the machine's mood. */
  ratios: DnsRatios;
}

export interface DnsRatios {
  /** Beacon (100 instances) over the ceiling. */
  beaconQps: number;
  beaconCpu?: number;
  /** Beacon with 100,000 instances over Beacon with 100. */
  largeQps: number;
  largeCpu?: number;
}

export function summarizeDns(rounds: readonly DnsRound[]): DnsSummary {
  const perRound = rounds.map(dnsRatios);
  const optional = (values: (number | undefined)[]) => (values.every((value) => value !== undefined) ? median(values as number[]) : undefined);
  const tcp = rounds.map((round) => tcpFigures(round.tcp));
  const { roundTripsMs: _, ...answer } = rounds[rounds.length - 1]!.tcp;
  return {
    ceiling: medianLoad(rounds.map((round) => round.ceiling)),
    beacon: medianLoad(rounds.map((round) => round.beacon)),
    beaconLarge: medianLoad(rounds.map((round) => round.beaconLarge)),
    halfRate: summarizeHalfRate(rounds.map((round) => round.halfRate)),
    tcp: {
      medianMs: median(tcp.map((figures) => figures.medianMs)),
      p99Ms: median(tcp.map((figures) => figures.p99Ms)),
      worstMs: max(tcp.map((figures) => figures.worstMs)),
      answer,
    },
    ratios: {
      beaconQps: median(perRound.map((ratios) => ratios.beaconQps)),
      beaconCpu: optional(perRound.map((ratios) => ratios.beaconCpu)),
      largeQps: median(perRound.map((ratios) => ratios.largeQps)),
      largeCpu: optional(perRound.map((ratios) => ratios.largeCpu)),
    },
  };
}

function summarizeHalfRate(rounds: readonly HalfRate[]): HalfRate {
  const dnsmasq = rounds.flatMap((round) => (round.dnsmasq ? [round.dnsmasq] : []));
  return {
    queriesPerSecond: median(rounds.map((round) => round.queriesPerSecond)),
    ceiling: medianLoad(rounds.map((round) => round.ceiling)),
    beacon: medianLoad(rounds.map((round) => round.beacon)),
    ...(dnsmasq.length === rounds.length ? { dnsmasq: medianLoad(dnsmasq) } : {}),
  };
}

export function dnsRatios({ ceiling, beacon, beaconLarge }: DnsRound): DnsRatios {
  const cpu = (numerator: DnsLoadResult, denominator: DnsLoadResult) =>
    numerator.cpuUsPerQuery && denominator.cpuUsPerQuery ? numerator.cpuUsPerQuery / denominator.cpuUsPerQuery : undefined;
  return {
    beaconQps: beacon.queriesPerSecond / ceiling.queriesPerSecond,
    beaconCpu: cpu(beacon, ceiling),
    largeQps: beaconLarge.queriesPerSecond / beacon.queriesPerSecond,
    largeCpu: cpu(beaconLarge, beacon),
  };
}

export function tcpFigures(probe: TcpProbeResult): { medianMs: number; p99Ms: number; worstMs: number } {
  const sorted = [...probe.roundTripsMs].sort((a, b) => a - b);
  return { medianMs: median(sorted), p99Ms: percentileOfSorted(sorted, 99), worstMs: sorted[sorted.length - 1]! };
}

/** Field by field medians (so a median result may mix rounds). */
function medianLoad(results: readonly DnsLoadResult[]): DnsLoadResult {
  const of = (field: keyof DnsLoadResult) => {
    const values = results.map((result) => result[field]);
    return values.every((value) => value !== undefined) ? median(values as number[]) : undefined;
  };
  return {
    sent: of('sent')!,
    completed: of('completed')!,
    lost: of('lost')!,
    queriesPerSecond: of('queriesPerSecond')!,
    averageLatencyMs: of('averageLatencyMs')!,
    responseBytes: of('responseBytes')!,
    p50Ms: of('p50Ms'),
    p90Ms: of('p90Ms'),
    p99Ms: of('p99Ms'),
    cpuUsPerQuery: of('cpuUsPerQuery'),
  };
}

function describeRound(round: DnsRound): string {
  const qps = (result: DnsLoadResult) =>
    `${Math.round(result.queriesPerSecond)} QPS${result.cpuUsPerQuery === undefined ? '' : ` (${result.cpuUsPerQuery.toFixed(1)} µs CPU/query)`}`;
  const half = round.halfRate;
  return [
    `ceiling ${qps(round.ceiling)}`,
    `Beacon ${qps(round.beacon)}`,
    `Beacon with ${LARGE.instances.toLocaleString('en-US')} instances ${qps(round.beaconLarge)}`,
    `at ${Math.round(half.queriesPerSecond)} QPS p99 Beacon ${half.beacon.p99Ms?.toFixed(2)} ms, ceiling ${half.ceiling.p99Ms?.toFixed(2)} ms` +
      (half.dnsmasq ? `, dnsmasq ${half.dnsmasq.p99Ms?.toFixed(2)} ms` : ''),
    `TCP ${WIDE.instances}-instance SRV median ${tcpFigures(round.tcp).medianMs.toFixed(2)} ms`,
  ].join('; ');
}
