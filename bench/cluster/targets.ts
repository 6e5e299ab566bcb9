import type { TargetCheck } from '../targets.js';
import type { ClusterSummary } from './cluster-bench.js';

/** The targets issue 13 set for the cluster. */
export const CLUSTER_TARGETS = {
  /** Heartbeat req/s at a cluster node at least this share of the same node's on SQLite. */
  minHeartbeatRatio: 0.9,
  maxProposalsPerSecond: 20,
  /** Registrations/s through two nodes at least this share of a bare etcd3 client's, same transaction. */
  minRegistrationRatio: 0.5,
  /** A change at node A in node B's DNS answer. */
  maxSeenP50Ms: 50,
  maxSeenP99Ms: 250,
  /** Writes unavailable after `kill -9` of the etcd leader (median of the trials). */
  maxLeaderKillUnavailableMs: 3_000,
  /** DNS QPS at a cluster node at least this share of the same node's on SQLite. */
  minDnsQpsRatio: 0.95,
} as const;

export function checkClusterTargets(summary: ClusterSummary): TargetCheck[] {
  const t = CLUSTER_TARGETS;
  const times = (value: number) => `${value.toFixed(2)}×`;
  const ms = (value: number) => (Number.isFinite(value) ? `${value.toFixed(1)} ms` : 'never (within the bound)');
  return [
    { name: 'Heartbeats at a cluster node ÷ the same node on SQLite', target: `≥ ${t.minHeartbeatRatio}×`, measured: times(summary.heartbeatRatio), met: summary.heartbeatRatio >= t.minHeartbeatRatio },
    {
      name: 'etcd proposals committed per second in the steady state',
      target: `≤ ${t.maxProposalsPerSecond}/s`,
      measured: `${summary.proposalsPerSecond.toFixed(2)}/s`,
      met: summary.proposalsPerSecond <= t.maxProposalsPerSecond,
    },
    {
      name: 'Registrations/s through 2 nodes ÷ a bare etcd3 client, same transaction',
      target: `≥ ${t.minRegistrationRatio}×`,
      measured: `${times(summary.registrationRatio)} (${Math.round(summary.beaconRegistrations).toLocaleString('en-US')}/s vs ${Math.round(summary.bareRegistrations).toLocaleString('en-US')}/s)`,
      met: summary.registrationRatio >= t.minRegistrationRatio,
    },
    { name: "A change at node A seen in node B's DNS answer, p50", target: `≤ ${t.maxSeenP50Ms} ms`, measured: ms(summary.seenP50Ms), met: summary.seenP50Ms <= t.maxSeenP50Ms },
    { name: "A change at node A seen in node B's DNS answer, p99", target: `≤ ${t.maxSeenP99Ms} ms`, measured: ms(summary.seenP99Ms), met: summary.seenP99Ms <= t.maxSeenP99Ms },
    {
      name: '`kill -9` of the etcd leader: writes unavailable (median)',
      target: `≤ ${t.maxLeaderKillUnavailableMs / 1000} s`,
      measured: ms(summary.leaderKillUnavailableMs),
      met: summary.leaderKillUnavailableMs <= t.maxLeaderKillUnavailableMs,
    },
    {
      name: '`kill -9` of a Beacon node: failed DNS queries at the other node',
      target: '0',
      measured: `${summary.nodeKillFailures} of ${summary.nodeKillQueries.toLocaleString('en-US')}`,
      met: summary.nodeKillFailures === 0,
    },
    { name: 'DNS QPS at a cluster node ÷ the same node on SQLite', target: `≥ ${t.minDnsQpsRatio}×`, measured: times(summary.dnsQpsRatio), met: summary.dnsQpsRatio >= t.minDnsQpsRatio },
  ];
}
