import { join } from 'node:path';
import { startEtcdCluster } from '../../test/support/local-etcd.js';
import type { DnsperfSettings } from '../dns.js';
import { writeQueryFile } from '../dns-fleet.js';
import type { CpuPlan } from '../support/cpu.js';
import type { Fleet } from '../support/fleet.js';
import { median, percentileOfSorted, sum } from '../support/stats.js';
import { type LoadResult, medianResult } from '../registry-http.js';
import { type DnsQpsRound, dnsQpsRound } from './dns-qps.js';
import { killLeaders, killNode, type LeaderKill, type NodeKill } from './failures.js';
import { type HeartbeatRound, heartbeatRound, type SteadyState, steadyState } from './heartbeats.js';
import { measurePropagation, type Propagation } from './propagation.js';
import { type RegistrationRound, registrationRound } from './registrations.js';

export interface ClusterBenchSettings {
  rounds: number;
  fleet: Fleet;
  /** wrk's connections for heartbeats, and the registrations in flight (split over two nodes, or all at the bare client). */
  connections: number;
  warmupSeconds: number;
  heartbeatSeconds: number;
  /** How long the steady state (every instance heartbeating every 5 s, over 2 nodes) is watched. */
  steadySeconds: number;
  registrationSeconds: number;
  /** Changes at node A timed until node B's DNS answer holds them. */
  propagationTrials: number;
  /** Trials of killing the etcd leader, and of killing a Beacon node. */
  kills: number;
  /** dnsperf's load, as the DNS section runs it. */
  dns: DnsperfSettings;
  cpus: CpuPlan;
  workDir: string;
}

export interface ClusterBenchResult {
  heartbeats: HeartbeatRound[];
  steady: SteadyState;
  registrations: RegistrationRound[];
  dnsQps: DnsQpsRound[];
  propagation: Propagation;
  nodeKills: NodeKill[];
  leaderKills: LeaderKill[];
}

export interface ClusterSummary {
  sqlite: LoadResult;
  cluster: LoadResult;
  /** Medians of the rounds' own ratios: a round's two sides run back to back, sharing the machine's mood. */
  heartbeatRatio: number;
  proposalsPerSecond: number;
  registrationRatio: number;
  /** Beacon's median registrations a second through two nodes, and the bare client's. */
  beaconRegistrations: number;
  bareRegistrations: number;
  seenP50Ms: number;
  seenP99Ms: number;
  /** Median over the trials. */
  leaderKillUnavailableMs: number;
  nodeKillQueries: number;
  nodeKillFailures: number;
  dnsQpsRatio: number;
}

/**
 * The cluster part of `npm run bench`, all over one real 3-member etcd on loopback: heartbeats
 * at a node against SQLite, etcd's proposals in the steady state, registrations through two
 * nodes against a bare etcd3 client, DNS QPS at a node against SQLite, how soon a change at one
 * node is in the other's DNS answers, then the failures (a Beacon node killed, the etcd leader
 * killed), last since they restart etcd members.
 */
export async function benchCluster(settings: ClusterBenchSettings, log: (line: string) => void): Promise<ClusterBenchResult> {
  const etcd = await startEtcdCluster();
  try {
    const heartbeats: HeartbeatRound[] = [];
    for (let round = 1; round <= settings.rounds; round++) heartbeats.push(await heartbeatRound(etcd, settings, round, log));
    const steady = await steadyState(etcd, settings, log);
    const registrations: RegistrationRound[] = [];
    for (let round = 1; round <= settings.rounds; round++) {
      const result = await registrationRound(etcd, settings, round);
      log(`round ${round}/${settings.rounds}: registrations through 2 nodes ${Math.round(result.beacon.requestsPerSecond)}/s, bare etcd3 client ${Math.round(result.bare.requestsPerSecond)}/s`);
      registrations.push(result);
    }
    const queryFile = join(settings.workDir, 'cluster-dns-queries.txt');
    writeQueryFile(queryFile);
    const dnsQps: DnsQpsRound[] = [];
    for (let round = 1; round <= settings.rounds; round++) {
      const result = await dnsQpsRound(etcd, settings, queryFile, round);
      log(`round ${round}/${settings.rounds}: DNS at a SQLite node ${Math.round(result.sqlite.queriesPerSecond)} QPS, at a cluster node ${Math.round(result.cluster.queriesPerSecond)} QPS`);
      dnsQps.push(result);
    }
    const propagation = await measurePropagation(etcd, settings);
    log(`a change at node A in node B's DNS answer: p50 ${percentileOfSorted(propagation.seenMs, 50).toFixed(1)} ms, p99 ${percentileOfSorted(propagation.seenMs, 99).toFixed(1)} ms`);
    const nodeKills: NodeKill[] = [];
    for (let trial = 1; trial <= settings.kills; trial++) {
      nodeKills.push(await killNode(etcd, settings, trial));
      log(`Beacon node kill ${trial}/${settings.kills}: ${nodeKills[trial - 1]!.failed} of ${nodeKills[trial - 1]!.sent} DNS queries at the other node failed`);
    }
    const leaderKills = await killLeaders(etcd, settings, log);
    return { heartbeats, steady, registrations, dnsQps, propagation, nodeKills, leaderKills };
  } finally {
    await etcd.stop();
  }
}

export function summarizeCluster(result: ClusterBenchResult): ClusterSummary {
  return {
    sqlite: medianResult(result.heartbeats.map((round) => round.sqlite)),
    cluster: medianResult(result.heartbeats.map((round) => round.cluster)),
    heartbeatRatio: median(result.heartbeats.map(heartbeatRatio)),
    proposalsPerSecond: result.steady.proposalsPerSecond,
    registrationRatio: median(result.registrations.map(registrationRatio)),
    beaconRegistrations: median(result.registrations.map((round) => round.beacon.requestsPerSecond)),
    bareRegistrations: median(result.registrations.map((round) => round.bare.requestsPerSecond)),
    seenP50Ms: percentileOfSorted(result.propagation.seenMs, 50),
    seenP99Ms: percentileOfSorted(result.propagation.seenMs, 99),
    leaderKillUnavailableMs: median(result.leaderKills.map((trial) => trial.unavailableMs)),
    nodeKillQueries: sum(result.nodeKills.map((trial) => trial.sent)),
    nodeKillFailures: sum(result.nodeKills.map((trial) => trial.failed)),
    dnsQpsRatio: median(result.dnsQps.map(dnsQpsRatio)),
  };
}

export const heartbeatRatio = (round: HeartbeatRound) => round.cluster.requestsPerSecond / round.sqlite.requestsPerSecond;
export const registrationRatio = (round: RegistrationRound) => round.beacon.requestsPerSecond / round.bare.requestsPerSecond;
export const dnsQpsRatio = (round: DnsQpsRound) => round.cluster.queriesPerSecond / round.sqlite.queriesPerSecond;
