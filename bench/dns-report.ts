import type { DnsBenchResult, DnsBenchSettings, DnsLoadResult, DnsSummary } from './dns.js';
import { dnsRatios, tcpFigures } from './dns.js';
import { LARGE, QUERIED, SMALL_INSTANCES, WIDE } from './dns-fleet.js';
import { renderTargets } from './report.js';
import type { TargetCheck } from './targets.js';
import { describeMachine, type Machine } from './support/machine.js';
import { microseconds, ms, perSecond, plural, ratio, subsection, table } from './support/markdown.js';

export interface DnsReport {
  date: Date;
  machine: Machine;
  settings: DnsBenchSettings;
  result: DnsBenchResult;
  summary: DnsSummary;
  targets: TargetCheck[];
}

/** The marker of the DNS section of docs/benchmarks.md. */
export const DNS_SECTION = 'dns-bench';

const LARGE_NAME = `${LARGE.instances.toLocaleString('en-US')} instances`;

/** The generated DNS section: what `npm run bench` prints and writes to docs/benchmarks.md. */
export function renderDnsSection(report: DnsReport): string {
  return [
    '## DNS: dnsperf against Beacon and the Node ceiling',
    '',
    ...describeMethod(report),
    '',
    ...subsection('Targets', renderTargets(report.targets)),
    ...subsection('Full load (medians)', renderFullLoad(report.summary)),
    ...subsection("Latency at half Beacon's peak rate (medians)", renderHalfRate(report.summary)),
    ...subsection(`${WIDE.instances.toLocaleString('en-US')}-instance SRV answer over TCP`, renderTcp(report)),
    ...subsection('Every round', renderRounds(report.result)),
  ]
    .join('\n')
    .trimEnd();
}

function describeMethod({ date, machine, settings, result }: DnsReport): string[] {
  const registration = result.largeRegistration;
  return [
    describeMachine(date, machine),
    `- Medians of ${plural(settings.rounds, 'round')}. Each round starts a fresh ceiling and a fresh Beacon and runs, back to back: ` +
      `the ceiling, Beacon, then Beacon and the ceiling at half of that round's Beacon peak (Beacon first in odd rounds, ` +
      `the ceiling first in even ones)${settings.dnsmasq ? ' and dnsmasq at that rate' : ''}, then Beacon with the large registry ` +
      `(after the half-rate runs, so its garbage collection does not lengthen their tails), then the TCP probe. ` +
      `A ratio is the median of the rounds' own ratios.`,
    `- dnsperf 2.10 (Debian), 1 thread, ${settings.clients} client socket(s), ${settings.outstanding} queries outstanding, ` +
      `${settings.durationSeconds} s per run after a ${settings.warmupSeconds} s warm-up; no EDNS, so answers are classic 512-byte UDP. ` +
      `Any answer other than NOERROR, or over 1 % of queries lost, fails the run; Beacon's ` +
      `\`beacon_dns_responses_total\` must account for every answer dnsperf counted.`,
    `- Queries: \`svc-<n>.service.beacon.internal\`, A and SRV alternately, over ${QUERIED.services} services of ` +
      `${QUERIED.instancesPerService} instances, each with its own IPv4 address (SRV answers carry the targets' A records ` +
      `as additional). Nothing expires (instance ttl 1 h) and nothing heartbeats.`,
    `- The Node ceiling (bench/dns-ceiling.ts): a raw \`node:dgram\` socket that finds where the question ends, looks its ` +
      `bytes up in a Map of Beacon's own answers (captured once over UDP) and sends a copy with the query's id. ` +
      `No validation, no registry, no metrics: what any DNS server on Node's UDP socket can do at most.`,
    `- Beacon: \`node bin/beacon.js server\` on a fresh SQLite file with ${SMALL_INSTANCES} instances; the large registry ` +
      `is one Beacon holding ${LARGE_NAME} in ${LARGE.services.toLocaleString('en-US')} services (the queried ${SMALL_INSTANCES}, ` +
      `one service of ${WIDE.instances.toLocaleString('en-US')}, the rest ~10 a service), registered over HTTP once per bench run ` +
      `(${registration.seconds.toFixed(0)} s) and kept for every round; it gives the queried services the same answers, byte for byte in size.`,
    `- Latency at half rate: dnsperf \`-Q\` at half of the round's Beacon peak, with \`-v\` (dnsperf 2.10 prints no ` +
      `percentiles, but prints every answer's latency); p50/p99 are over every answer of the run.`,
    ...(settings.dnsmasq
      ? [
          `- dnsmasq (bench/dnsmasq-reference.ts): Debian's dnsmasq on the server's CPU, a fresh process each round, ` +
            `answering the same questions from its configuration with the records Beacon gives (A records; SRV records ` +
            `naming \`<address>.addr\` targets, their A records as additional), measured at the same half rate after Beacon ` +
            `and the ceiling: the latency tail the machine allows a server written in C.`,
        ]
      : ['- dnsmasq is not installed here, so the C reference at half rate was skipped.']),
    `- TCP: one connection, ${settings.tcpQueries} SRV queries for the ${WIDE.instances.toLocaleString('en-US')}-instance service ` +
      `one at a time (after 20 untimed), from a Node process on the load generator's CPU; a round trip ends when the whole answer is read.`,
    `- "Server CPU per query": the server process's user + system time during the run (from /proc) over the answers dnsperf completed.`,
    `- From the issue that asked for this bench (same method, another day): the ceiling ≈ 24 µs CPU/query (~37k QPS); ` +
      `dnsmasq 18 µs; Knot 8.5 µs; answering with dns2's \`Packet\` encoder per query 122 µs.`,
  ];
}

function renderFullLoad({ ceiling, beacon, beaconLarge, ratios }: DnsSummary): string[] {
  const row = (name: string, result: DnsLoadResult) => [
    name,
    perSecond(result.queriesPerSecond),
    ms(result.averageLatencyMs),
    microseconds(result.cpuUsPerQuery),
    `${result.responseBytes} B`,
  ];
  const cpuRatio = (value: number | undefined) => (value === undefined ? '–' : ratio(value));
  return table(
    ['', 'QPS', 'Mean latency', 'Server CPU per query', 'Mean answer'],
    [
      row('Node ceiling (raw node:dgram, precomputed answers)', ceiling),
      row(`Beacon, ${SMALL_INSTANCES} instances`, beacon),
      row(`Beacon, ${LARGE_NAME}`, beaconLarge),
      [`Beacon ÷ ceiling`, ratio(ratios.beaconQps), '', cpuRatio(ratios.beaconCpu), ''],
      [`${LARGE_NAME} ÷ ${SMALL_INSTANCES}`, ratio(ratios.largeQps), '', cpuRatio(ratios.largeCpu), ''],
    ],
  );
}

function renderHalfRate({ halfRate }: DnsSummary): string[] {
  const row = (name: string, result: DnsLoadResult) => [
    name,
    perSecond(result.queriesPerSecond),
    ms(result.p50Ms ?? Number.NaN),
    ms(result.p90Ms ?? Number.NaN),
    ms(result.p99Ms ?? Number.NaN),
    ms(result.averageLatencyMs),
    microseconds(result.cpuUsPerQuery),
  ];
  return table(
    ['', 'QPS', 'p50', 'p90', 'p99', 'Mean', 'Server CPU per query'],
    [
      row('Node ceiling', halfRate.ceiling),
      row(`Beacon, ${SMALL_INSTANCES} instances`, halfRate.beacon),
      ...(halfRate.dnsmasq ? [row('dnsmasq (C), the same records', halfRate.dnsmasq)] : []),
    ],
  );
}

function renderTcp({ summary }: DnsReport): string[] {
  const { tcp } = summary;
  const { answer } = tcp;
  const complete =
    answer.answerCount === WIDE.instances && !answer.truncated
      ? `all ${answer.answerCount.toLocaleString('en-US')} SRV records, TC clear`
      : `${answer.answerCount.toLocaleString('en-US')} SRV records${answer.truncated ? ', TC set' : ''}`;
  return table(
    ['Median round trip', 'p99', 'Worst', 'Answer (last round)'],
    [
      [
        ms(tcp.medianMs),
        ms(tcp.p99Ms),
        ms(tcp.worstMs),
        `${complete}; ${answer.additionalCount} target addresses as additional (the rest do not fit 64 KiB); ` +
          `${answer.bytes.toLocaleString('en-US')} bytes`,
      ],
    ],
  );
}

function renderRounds(result: DnsBenchResult): string[] {
  const withDnsmasq = result.rounds.every((round) => round.halfRate.dnsmasq);
  return table(
    [
      'Round',
      'Ceiling QPS',
      'Ceiling CPU',
      'Beacon QPS',
      'Beacon CPU',
      'Large QPS',
      'Large CPU',
      'Beacon ÷ ceiling',
      'Large ÷ small',
      'Half rate',
      'p99 ceiling',
      'p99 Beacon',
      ...(withDnsmasq ? ['p99 dnsmasq'] : []),
      'TCP median',
      'TCP p99',
    ],
    result.rounds.map((round, index) => {
      const ratios = dnsRatios(round);
      const tcp = tcpFigures(round.tcp);
      return [
        String(index + 1),
        perSecond(round.ceiling.queriesPerSecond),
        microseconds(round.ceiling.cpuUsPerQuery),
        perSecond(round.beacon.queriesPerSecond),
        microseconds(round.beacon.cpuUsPerQuery),
        perSecond(round.beaconLarge.queriesPerSecond),
        microseconds(round.beaconLarge.cpuUsPerQuery),
        ratio(ratios.beaconQps),
        ratio(ratios.largeQps),
        perSecond(round.halfRate.queriesPerSecond),
        ms(round.halfRate.ceiling.p99Ms ?? Number.NaN),
        ms(round.halfRate.beacon.p99Ms ?? Number.NaN),
        ...(withDnsmasq ? [ms(round.halfRate.dnsmasq?.p99Ms ?? Number.NaN)] : []),
        ms(tcp.medianMs),
        ms(tcp.p99Ms),
      ];
    }),
  );
}
