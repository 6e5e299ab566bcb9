import { QUERIED, SMALL_INSTANCES } from '../dns-fleet.js';
import { renderTargets } from '../report.js';
import type { TargetCheck } from '../targets.js';
import { describeMachine, type Machine } from '../support/machine.js';
import { microseconds, ms, perSecond, ratio, subsection, table } from '../support/markdown.js';
import { percentileOfSorted } from '../support/stats.js';
import { type ClusterBenchResult, type ClusterBenchSettings, type ClusterSummary, dnsQpsRatio, heartbeatRatio, registrationRatio } from './cluster-bench.js';
import { FAILURE_LOAD as f, type LeaderKill, type NodeKill } from './failures.js';
import { HEARTBEAT_PERIOD_S } from './heartbeats.js';
import { PROPAGATION_BOUND_MS, PROPAGATION_WARMUP_TRIALS } from './propagation.js';

export const CLUSTER_SECTION = 'cluster-bench';

export interface ClusterReport {
  date: Date;
  machine: Machine;
  settings: ClusterBenchSettings;
  result: ClusterBenchResult;
  summary: ClusterSummary;
  targets: TargetCheck[];
}

export function renderClusterSection({ date, machine, settings, result, summary, targets }: ClusterReport): string {
  const fleet = `${settings.fleet.instances.toLocaleString('en-US')} instances in ${settings.fleet.services} services`;
  return [
    '## Cluster: a node over etcd against SQLite and a bare etcd client, and failures',
    '',
    describeMachine(date, machine),
    `- One real 3-member etcd on loopback for the whole part (etcd unpinned, sharing both cores); every measurement on a fresh key prefix and fresh Beacon processes; medians of ${settings.rounds} rounds, ratios the median of the rounds' own.`,
    '',
    ...renderTargets(targets),
    '',
    ...subsection('Heartbeats at a node, and what reaches etcd', [
      `${fleet}; wrk, ${settings.connections} connections, heartbeats for ${settings.heartbeatSeconds} s after ${settings.warmupSeconds} s of warm-up, at a SQLite node and a cluster node (which first alternates by round; CPU is the server process's user + system time per heartbeat). Steady state: the fleet registered through one of two nodes, every instance heartbeating every ${HEARTBEAT_PERIOD_S} s at the two in turn (${perSecond(result.steady.heartbeatsPerSecond)} heartbeats/s) for ${Math.round(result.steady.seconds)} s; etcd's \`etcd_server_proposals_committed_total\` read from the leader before and after (registering the fleet moved it by ${perSecond(result.steady.registrationProposals)}).`,
      '',
      ...roundsTable(['SQLite req/s', 'SQLite p99', 'SQLite CPU', 'Cluster req/s', 'Cluster p99', 'Cluster CPU', 'Ratio'], result.heartbeats, (round) => [
        perSecond(round.sqlite.requestsPerSecond),
        ms(round.sqlite.p99Ms),
        microseconds(round.sqlite.cpuUsPerRequest),
        perSecond(round.cluster.requestsPerSecond),
        ms(round.cluster.p99Ms),
        microseconds(round.cluster.cpuUsPerRequest),
        ratio(heartbeatRatio(round)),
      ]),
    ]),
    ...subsection('Registrations through two nodes against a bare etcd3 client', [
      `Fresh ids over ${settings.fleet.services} services for ${settings.registrationSeconds} s after ${settings.warmupSeconds} s of warm-up: two wrk runs at once, ${settings.connections / 2} connections each, one at each node, against one \`etcd3\` client in its own process with ${settings.connections} transactions in flight, the transaction EtcdStore commits for a new registration (instance key absent, then the record, \`index/<service>\` and \`index/*\`), sent to the member the nodes use. Latencies are the worse node's; only acknowledged registrations count (a refusal, or no answer within 10 s, is a failure). A stored record is ${result.registrations[0]?.beacon.valueBytes ?? 0} bytes from Beacon, ${result.registrations[0]?.bare.valueBytes ?? 0} from the bare client.`,
      '',
      ...roundsTable(['Beacon reg/s (2 nodes)', 'Beacon p50', 'Beacon p99', 'Failed', 'Beacon CPU/reg (both nodes)', 'Bare etcd3 txn/s', 'Bare p50', 'Bare p99', 'Bare client CPU/txn', 'Ratio'], result.registrations, (round) => [
        perSecond(round.beacon.requestsPerSecond),
        ms(round.beacon.p50Ms),
        ms(round.beacon.p99Ms),
        String(round.beacon.failures),
        microseconds(round.beacon.cpuUsPerRequest),
        perSecond(round.bare.requestsPerSecond),
        ms(round.bare.p50Ms),
        ms(round.bare.p99Ms),
        microseconds(round.bare.cpuUsPerRequest),
        ratio(registrationRatio(round)),
      ]),
    ]),
    ...subsection("A change at node A in node B's DNS answer", [
      `${result.propagation.seenMs.length} registrations at node A (after ${PROPAGATION_WARMUP_TRIALS} untimed), each in a service of its own; from the moment each request is sent, node B is asked for the service's SRV records over UDP about every millisecond until an answer holds one (bound ${PROPAGATION_BOUND_MS / 1000} s; missed: ${result.propagation.missed}).`,
      '',
      ...table(['From sending the registration to', 'p50', 'p90', 'p99', 'max'], [
        spread("node B's DNS answer holding it", result.propagation.seenMs),
        spread("node A's acknowledgement (201)", result.propagation.acknowledgedMs),
      ]),
    ]),
    ...subsection('DNS at a cluster node against the same node on SQLite', [
      `The DNS section's load: dnsperf, ${settings.dns.outstanding} queries in flight over ${settings.dns.clients} sockets, for ${settings.dns.durationSeconds} s after ${settings.dns.warmupSeconds} s of warm-up, A and SRV over the ${QUERIED.services} services of its ${SMALL_INSTANCES}-instance registry; which node goes first alternates.`,
      '',
      ...roundsTable(['SQLite QPS', 'SQLite CPU/query', 'Cluster QPS', 'Cluster CPU/query', 'Ratio'], result.dnsQps, (round) => [
        perSecond(round.sqlite.queriesPerSecond),
        microseconds(round.sqlite.cpuUsPerQuery),
        perSecond(round.cluster.queriesPerSecond),
        microseconds(round.cluster.cpuUsPerQuery),
        ratio(dnsQpsRatio(round)),
      ]),
    ]),
    ...subsection('Failures', [
      `\`kill -9\` of a Beacon node: node B asked ${perSecond((f.queriesPerTick * 1000) / f.tickMs)} A questions a second for a service of ${f.heldInstances} instances registered at node A, ${f.beforeNodeKillMs / 1000} s before and ${f.afterNodeKillMs / 1000} s after node A is killed (past its 5 s session, so B also takes over its instances); a question unanswered within ${f.queryTimeoutMs / 1000} s, or answered with an error or no record, failed. ` +
        `\`kill -9\` of the etcd leader: one registration every ${f.writeEveryMs} ms at a node (at most ${f.maxWritesInFlight} in flight, more than the node's 2 s etcd deadline holds), the leader killed after ${f.beforeLeaderKillMs / 1000} s; writes are unavailable from the kill until the first write sent after it is acknowledged (bound ${f.leaderKillBoundMs / 1000} s); the member is started again and the cluster healthy before the next trial.`,
      '',
      ...roundsTable(['Node kill: queries at B', 'Failed', 'Of them timed out', 'Failed ones sent (from the kill)', 'UDP drops (machine)'], result.nodeKills, nodeKillCells, 'Trial'),
      '',
      ...roundsTable(['Leader kill: member', 'Writes unavailable', 'Acknowledged', 'Refused (503)', 'Unanswered'], result.leaderKills, leaderKillCells, 'Trial'),
    ]),
  ].join('\n').trimEnd();
}

function nodeKillCells(trial: NodeKill): string[] {
  const from = (atMs: number | undefined) => (atMs === undefined ? '' : `${(atMs / 1000).toFixed(2)} s`);
  return [
    perSecond(trial.sent),
    String(trial.failed),
    String(trial.timedOut),
    trial.failed === 0 ? '–' : `${from(trial.failedFromMs)} to ${from(trial.failedToMs)}`,
    trial.udpDrops === undefined ? '–' : String(trial.udpDrops),
  ];
}

function leaderKillCells(trial: LeaderKill): string[] {
  return [trial.member, Number.isFinite(trial.unavailableMs) ? ms(trial.unavailableMs) : 'never', String(trial.acknowledged), String(trial.refused), String(trial.unanswered)];
}

/** A table with a row per round (or trial), numbered from 1. */
function roundsTable<R>(header: readonly string[], rounds: readonly R[], cells: (round: R) => string[], label = 'Round'): string[] {
  return table([label, ...header], rounds.map((round, i) => [String(i + 1), ...cells(round)]));
}

function spread(name: string, ascending: readonly number[]): string[] {
  const at = (p: number) => {
    const value = percentileOfSorted(ascending, p);
    return Number.isFinite(value) ? ms(value) : 'missed';
  };
  return [name, at(50), at(90), at(99), at(100)];
}
