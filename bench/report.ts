import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import type { LivenessFlushResult } from './liveness-flush.js';
import { REGISTRATION_TTL_SECONDS } from './support/fleet.js';
import { describeMachine, type Machine } from './support/machine.js';
import { microseconds, ms, perSecond, plural, ratio, table } from './support/markdown.js';
import { type HttpBenchResult, type HttpBenchSettings, type HttpSummary, heartbeatRatios, type LoadResult, loadRatios } from './registry-http.js';
import type { TargetCheck } from './targets.js';

export interface BenchReport {
  date: Date;
  machine: Machine;
  http: { settings: HttpBenchSettings; result: HttpBenchResult; summary: HttpSummary };
  flush: LivenessFlushResult;
  targets: TargetCheck[];
}

/** The marker of this report's section; the DNS report has its own (bench/dns-report.ts). */
export const REGISTRY_SECTION = 'registry-bench';

const INTRO = `# Benchmarks

\`npm run bench\` builds Beacon and runs \`dist/bench/run.js\`, which prints the tables below and
rewrites the three marked sections of this file (registry over HTTP, DNS, then \`beacon proxy\`).
It needs [wrk](https://github.com/wg/wrk) and dnsperf (\`apt-get install wrk dnsperf\`), and
haproxy for the proxy's native reference (\`apt-get install haproxy\`; without it that contender
is skipped and the section says so), and dnsmasq for the DNS section's C reference at half rate
(\`apt-get install dnsmasq-base\`; skipped likewise). It uses loopback only and takes about fourteen minutes.
\`BENCH_ROUNDS\` and \`BENCH_SECONDS\` shorten a trial run, and \`BENCH_ONLY=http\`, \`BENCH_ONLY=dns\`,
\`BENCH_ONLY=proxy\` or \`BENCH_ONLY=cluster\` runs one part (the other sections are left as they were).

The machine is a shared, noisy 2-core VM, so absolute rates (req/s, QPS) move from run to run;
the ratios are what to compare. Each round measures the baseline and then Beacon, back to back,
each in a fresh process (the proxy bench keeps its contenders running across rounds; its section
says why); a figure is the median over the rounds, and a ratio is the median of the rounds' own
ratios.

Registry method: wrk (1 thread, 50 connections, fixed duration, after a discarded warm-up) sends
heartbeats spread round-robin over 10,000 registered instances (100 services × 100 instances,
ttl 60 s so nothing expires). The baseline is a bare fastify 5 app (no plugins, no logger) with a
PUT route of the same path shape answering an instance-shaped JSON object of about the same size.
Beacon runs as \`node bin/beacon.js server\` on a fresh SQLite file; its \`beacon_heartbeats_total\`
must match wrk's count, and any non-2xx answer or socket error fails the run. Registrations are
fresh ids (one durable insert each) sent by wrk the same way.

"Server CPU per request" is the server process's user + system time during the run (from /proc,
so background work such as the liveness flush counts) over the requests wrk completed. Other
work on the machine moves it less than it moves req/s, though it does move it.

The liveness flush is timed in-process: \`Registry.flushLiveness\` is synchronous, so how long
one call takes is how long requests wait.

Earlier designs, measured with the same method (from the issue that asked for this bench): bare
fastify ≈ 16k req/s; one SQLite UPDATE per heartbeat 0.42× of that (p99 26 ms); a batched
flush every second 0.73× (p99 34 ms).
`;

/** The generated section: what `npm run bench` prints and what it writes to docs/benchmarks.md. */
export function renderSection(report: BenchReport): string {
  return [
    '## Registry: heartbeats, registrations, liveness flush',
    '',
    describeRun(report),
    '',
    '### Targets',
    '',
    ...renderTargets(report.targets),
    '',
    '### Heartbeats and registrations (medians)',
    '',
    ...renderSummary(report.http.summary),
    '',
    '### Every round: heartbeats',
    '',
    ...renderHeartbeatRounds(report.http.result),
    '',
    '### Every round: registrations',
    '',
    ...renderRegistrationRounds(report.http.result),
    '',
    '### Liveness flush: how long it holds the event loop',
    '',
    ...renderFlush(report.flush),
  ].join('\n');
}

/**
 * Replaces the section between `<!-- marker:start … -->` and `<!-- marker:end -->`, keeping
 * everything else in the file; appends it when missing, creates the file when needed.
 */
export function updateBenchmarksDoc(path: string, marker: string, section: string, writtenBy = 'npm run bench'): void {
  const startMarker = `<!-- ${marker}:start (written by ${writtenBy}) -->`;
  const endMarker = `<!-- ${marker}:end -->`;
  const block = `${startMarker}\n${section}\n${endMarker}`;
  const current = existsSync(path) ? readFileSync(path, 'utf8') : INTRO;
  const start = current.indexOf(startMarker);
  const end = current.indexOf(endMarker);
  const updated =
    start >= 0 && end > start
      ? `${current.slice(0, start)}${block}${current.slice(end + endMarker.length)}`
      : `${current.trimEnd()}\n\n${block}\n`;
  writeFileSync(path, updated);
}

function describeRun({ date, machine, http, flush }: BenchReport): string {
  const { settings, result } = http;
  return [
    describeMachine(date, machine),
    `- Medians of ${plural(settings.rounds, 'round')}; each round runs bare fastify over HTTP and over HTTPS (the reference for what TLS costs without Beacon), then Beacon over HTTP and a second Beacon serving HTTPS (\`--tls-cert\`, EC P-256, wrk keeping its connections alive), each a fresh process; the two Beacons' heartbeat runs follow each other (HTTPS first in even rounds).`,
    `- wrk: 1 thread, ${settings.connections} connections; heartbeats for ${settings.heartbeatSeconds} s after a ` +
      `${settings.warmupSeconds} s warm-up, registrations for ${settings.registrationSeconds} s.`,
    `- Fleet: ${settings.fleet.instances.toLocaleString('en-US')} instances in ${settings.fleet.services} services, ` +
      `ttl ${REGISTRATION_TTL_SECONDS} s. Heartbeat answer: bare ${result.responseBytes.bare} bytes, Beacon ${result.responseBytes.beacon} bytes.`,
    `- Liveness flush: ${flush.instances.toLocaleString('en-US')} pending rows, written each way ${plural(flush.repetitions, 'time')}.`,
  ].join('\n');
}

export function renderTargets(targets: readonly TargetCheck[]): string[] {
  return table(
    ['Target', 'Goal', 'Measured', 'Met'],
    targets.map((check) => [check.name, check.target, check.measured, check.met ? 'yes' : '**no**']),
  );
}

function renderSummary(summary: HttpSummary): string[] {
  const row = (name: string, result: LoadResult) => [name, perSecond(result.requestsPerSecond), ms(result.p50Ms), ms(result.p99Ms), cpu(result)];
  const ratioRow = (name: string, ratios: HttpSummary['ratios']) => [
    name,
    ratio(ratios.requestsPerSecond),
    ratio(ratios.p50),
    ratio(ratios.p99),
    ratios.cpuPerRequest === undefined ? '–' : ratio(ratios.cpuPerRequest),
  ];
  return table(
    ['', 'req/s', 'p50', 'p99', 'Server CPU per request'],
    [
      row('Bare fastify route (heartbeat-shaped)', summary.bareHeartbeats),
      row('Bare fastify route over HTTPS (keep-alive)', summary.bareHttpsHeartbeats),
      ratioRow('Bare HTTPS ÷ HTTP: what TLS costs Node and fastify alone', summary.bareHttpsRatios),
      row('Beacon heartbeats', summary.beaconHeartbeats),
      ratioRow('Beacon ÷ bare (median of the rounds\' ratios)', summary.ratios),
      row('Beacon heartbeats over HTTPS (keep-alive)', summary.httpsHeartbeats),
      ratioRow('HTTPS ÷ HTTP (median of the rounds\' ratios)', summary.httpsRatios),
      row('Beacon registrations (fresh instances)', summary.registrations),
    ],
  );
}

function renderHeartbeatRounds(result: HttpBenchResult): string[] {
  return table(
    ['Round', 'Bare req/s', 'Bare p99', 'Bare CPU', 'Beacon req/s', 'Beacon p99', 'Beacon CPU', 'req/s ratio', 'p99 ratio', 'HTTPS req/s', 'HTTPS p99', 'HTTPS CPU', 'HTTPS ÷ HTTP req/s', 'Bare HTTPS ÷ HTTP req/s'],
    result.rounds.map((round, index) => {
      const { bareHeartbeats: bare, beaconHeartbeats: beacon } = round;
      const ratios = heartbeatRatios(round);
      return [
        String(index + 1),
        perSecond(bare.requestsPerSecond),
        ms(bare.p99Ms),
        cpu(bare),
        perSecond(beacon.requestsPerSecond),
        ms(beacon.p99Ms),
        cpu(beacon),
        ratio(ratios.requestsPerSecond),
        ratio(ratios.p99),
        perSecond(round.httpsHeartbeats.requestsPerSecond),
        ms(round.httpsHeartbeats.p99Ms),
        cpu(round.httpsHeartbeats),
        ratio(loadRatios(round.httpsHeartbeats, beacon).requestsPerSecond),
        ratio(loadRatios(round.bareHttpsHeartbeats, bare).requestsPerSecond),
      ];
    }),
  );
}

function renderRegistrationRounds(result: HttpBenchResult): string[] {
  return table(
    ['Round', 'Registrations/s', 'p50', 'p99', 'Server CPU'],
    result.rounds.map(({ registrations }, index) => [
      String(index + 1),
      perSecond(registrations.requestsPerSecond),
      ms(registrations.p50Ms),
      ms(registrations.p99Ms),
      cpu(registrations),
    ]),
  );
}

function renderFlush(flush: LivenessFlushResult): string[] {
  const rows = flush.instances.toLocaleString('en-US');
  return table(
    [`Writing ${rows} pending heartbeat times`, 'Calls', 'Median call', 'Worst call', 'All calls together (median)'],
    [
      [
        `Chunks of ${flush.chunkRows} rows (as housekeeping does)`,
        String(flush.chunksPerFlush),
        ms(flush.chunkMedianMs),
        ms(flush.chunkWorstMs),
        ms(flush.chunkedTotalMedianMs),
      ],
      [`One transaction of ${rows} rows`, '1', ms(flush.wholeMedianMs), ms(flush.wholeWorstMs), ms(flush.wholeMedianMs)],
    ],
  );
}

function cpu(result: LoadResult): string {
  return microseconds(result.cpuUsPerRequest);
}
