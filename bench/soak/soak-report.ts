import { renderTargets } from '../report.js';
import type { TargetCheck } from '../targets.js';
import { describeMachine, type Machine } from '../support/machine.js';
import { ms, perSecond, subsection, table } from '../support/markdown.js';
import { max, median } from '../support/stats.js';
import type { ChurnCount } from './churn.js';
import type { DnsCount } from './dns-queries.js';
import { ERROR_KINDS, type ErrorKind, type ErrorTally } from './error-tally.js';
import type { HeartbeatCount } from './heartbeats.js';
import type { OwnEventLoop } from './own-event-loop.js';
import type { RssGrowth } from './rss-growth.js';
import type { ServerSample } from './server-samples.js';
import type { SoakSettings } from './settings.js';
import type { WatchCount } from './watchers.js';

/** The marker of the soak section of docs/benchmarks.md. */
export const SOAK_SECTION = 'soak';

/** The issue's pass criteria. */
export const MAX_RSS_GROWTH = 0.1;

export interface SoakResult {
  date: Date;
  machine: Machine;
  settings: SoakSettings;
  /** How long the load really ran (it stops at the deadline). */
  ranMs: number;
  heartbeats: HeartbeatCount;
  dns: DnsCount;
  watches: WatchCount;
  churn: ChurnCount;
  errors: ErrorTally;
  samples: ServerSample[];
  rss: RssGrowth;
  /** beacon_expirations_total at the end minus at the start. */
  expirations: number;
  expirationsWithheld: number;
  loadGenerator: OwnEventLoop;
  /** Machine-wide UDP receive-buffer drops during the load (/proc/net/snmp); undefined off Linux. */
  udpDrops?: number;
}

/** Samples in the RSS table: one every this often. */
const TABLE_EVERY_MS = 30_000;

export function checkSoak(result: SoakResult): TargetCheck[] {
  return [
    { name: 'Errors (every kind)', target: '0', measured: String(result.errors.total), met: result.errors.total === 0 },
    {
      name: 'RSS growth after warm-up',
      target: `≤ ${(MAX_RSS_GROWTH * 100).toFixed(0)} %`,
      measured: percent(result.rss.growth),
      met: result.rss.growth <= MAX_RSS_GROWTH,
    },
    { name: 'Instances expired (all kept heartbeating)', target: '0', measured: String(result.expirations), met: result.expirations === 0 },
  ];
}

export function renderSoakSection(result: SoakResult, checks: readonly TargetCheck[]): string {
  const minutes = result.settings.durationMs / 60_000;
  return [
    `## Soak: ${result.settings.fleet.instances.toLocaleString('en-US')} instances for ${minutes} minutes`,
    '',
    ...describeMethod(result),
    '',
    ...subsection('Pass criteria', renderTargets(checks)),
    ...subsection('Load', renderLoad(result)),
    ...subsection('Errors', renderErrors(result.errors)),
    ...subsection('Event-loop delay', renderEventLoop(result)),
    ...subsection(`RSS of the server (every ${TABLE_EVERY_MS / 1000} s)`, renderRssCurve(result)),
  ]
    .join('\n')
    .trimEnd();
}

function describeMethod({ date, machine, settings, rss }: SoakResult): string[] {
  const { fleet } = settings;
  return [
    describeMachine(date, machine),
    `- \`npm run soak\` (\`SOAK_MINUTES\` sets the length): \`node bin/beacon.js server\` with its default flags ` +
      `(self-preservation on) on a fresh SQLite file, and one Node load generator (node:http keep-alive, one UDP socket).`,
    `- ${fleet.instances.toLocaleString('en-US')} instances in ${fleet.services} services of ${fleet.instances / fleet.services}, ttl ${settings.ttlSeconds} s, ` +
      `each heartbeating every ${settings.heartbeatIntervalMs / 1000} s (ttl/3), spread evenly, ${settings.heartbeatConcurrency} in flight at most ` +
      `(${perSecond(fleet.instances / (settings.heartbeatIntervalMs / 1000))} heartbeats/s).`,
    `- DNS: ${settings.dnsQueriesPerSecond} queries/s over UDP (EDNS 1232), A and SRV alternately for random services; every answer must be ` +
      `NOERROR with at least one record of the asked type (100-instance answers are cut at 1232 bytes with TC set), 2 s timeout.`,
    `- ${settings.watchers} watchers, each looping on \`GET /v1/services/svc-N/instances?index=I&wait=${settings.watchWaitSeconds}s\` ` +
      `and following \`X-Beacon-Index\`; every ${settings.churnIntervalMs / 1000} s one instance of a watched service is deregistered and registered again, so a watcher wakes.`,
    `- Every ${settings.sampleIntervalMs / 1000} s: the server's RSS (VmRSS of /proc/<pid>/status) and its /metrics ` +
      `(\`beacon_nodejs_eventloop_lag_p99_seconds\`, whose histogram prom-client resets at every scrape, so each sample is the p99 of the 5 s before it). ` +
      `RSS growth compares the median of the first ${rss.windowMs / 1000} s after a ${settings.warmupMs / 1000} s warm-up ` +
      `with the median of the last ${rss.windowMs / 1000} s.`,
  ];
}

function renderLoad(result: SoakResult): string[] {
  const seconds = result.ranMs / 1000;
  const row = (name: string, count: number) => [name, count.toLocaleString('en-US'), perSecond(count / seconds)];
  const { heartbeats, dns, watches, churn } = result;
  return [
    ...table(
      ['', 'Count', 'Per second'],
      [
        row('Heartbeats', heartbeats.sent),
        row('DNS queries, A', dns.a),
        row('DNS queries, SRV', dns.srv),
        row('Blocking queries released by a change', watches.woken),
        row(`Blocking queries that waited out ${result.settings.watchWaitSeconds} s`, watches.timedOut),
        row('Churn: deregistrations', churn.deregistered),
        row('Churn: registrations', churn.registered),
      ],
    ),
    '',
    `Load ran ${seconds.toFixed(0)} s. Heartbeats sent over 1 s after their slot: ${heartbeats.late.toLocaleString('en-US')}. ` +
      `DNS answers truncated (TC, still with records): ${dns.truncated.toLocaleString('en-US')}. ` +
      `\`beacon_expirations_total\` grew by ${result.expirations}; \`beacon_expirations_withheld\` at the end: ${result.expirationsWithheld}. ` +
      `UDP datagrams dropped for a full receive buffer meanwhile (machine-wide, /proc/net/snmp): ${result.udpDrops ?? '–'}.`,
  ];
}

function renderErrors(errors: ErrorTally): string[] {
  const kinds = Object.keys(ERROR_KINDS) as ErrorKind[];
  const examples = kinds.flatMap((kind) => errors.examples[kind].map((example) => `- ${ERROR_KINDS[kind]}: \`${example.replaceAll('`', "'")}\``));
  return [
    ...table(['Kind', 'Count'], kinds.map((kind) => [ERROR_KINDS[kind], errors.counts[kind].toLocaleString('en-US')])),
    ...(examples.length > 0 ? ['', 'First errors of each kind:', '', ...examples] : []),
  ];
}

function renderEventLoop({ samples, loadGenerator }: SoakResult): string[] {
  const p99s = samples.flatMap((s) => (s.eventLoopP99Seconds === undefined ? [] : [s.eventLoopP99Seconds * 1000]));
  const maxima = samples.flatMap((s) => (s.eventLoopMaxSeconds === undefined ? [] : [s.eventLoopMaxSeconds * 1000]));
  if (p99s.length === 0) return ['No /metrics scrape succeeded.'];
  return [
    ...table(
      ['Beacon server', 'Median of the 5 s p99s', 'Max of the 5 s p99s', 'Longest single delay', 'Samples'],
      [['Event-loop delay', ms(median(p99s)), ms(max(p99s)), ms(max(maxima)), String(p99s.length)]],
    ),
    '',
    `The load generator's own event loop (whole run): p99 ${ms(loadGenerator.p99Ms)}, longest delay ${ms(loadGenerator.maxMs)}.`,
  ];
}

function renderRssCurve({ samples, rss }: SoakResult): string[] {
  const shown = samples.filter((s, i) => i === 0 || i === samples.length - 1 || Math.floor(s.elapsedMs / TABLE_EVERY_MS) > Math.floor(samples[i - 1]!.elapsedMs / TABLE_EVERY_MS));
  return [
    ...table(
      ['Elapsed', 'RSS', 'Event-loop p99 (5 s before)', 'Longest delay (5 s before)'],
      shown.map((s) => [`${(s.elapsedMs / 1000).toFixed(0)} s`, mb(s.rssBytes), optionalMs(s.eventLoopP99Seconds), optionalMs(s.eventLoopMaxSeconds)]),
    ),
    '',
    `RSS after the warm-up: ${mb(rss.baselineBytes)} (median of the first ${rss.windowMs / 1000} s), ${mb(rss.finalBytes)} ` +
      `(median of the last ${rss.windowMs / 1000} s): ${percent(rss.growth)}.`,
  ];
}

function optionalMs(seconds: number | undefined): string {
  return seconds === undefined ? '–' : ms(seconds * 1000);
}

function mb(bytes: number): string {
  return `${(bytes / 2 ** 20).toFixed(1)} MB`;
}

function percent(share: number): string {
  return `${share >= 0 ? '+' : ''}${(share * 100).toFixed(1)} %`;
}
