import { join } from 'node:path';
import { Agent, request } from 'undici';
import { packageRoot } from '../server/paths.js';
import { type EtcdCluster, startEtcdCluster } from '../test/support/local-etcd.js';
import { registerFleet } from './support/beacon-http.js';
import { beaconStart } from './support/beacon-process.js';
import { type CpuPlan, onCpu } from './support/cpu.js';
import { type Fleet, instanceName } from './support/fleet.js';
import { type ListeningProcess, type ProcessStart, withListeningProcess } from './support/listening-process.js';
import { median } from './support/stats.js';
import { runWrk } from './support/wrk.js';
import { describeLoad, heartbeatLoad, type LoadResult, medianResult, runLoad } from './registry-http.js';

export interface ClusterBenchSettings {
  rounds: number;
  fleet: Fleet;
  connections: number;
  warmupSeconds: number;
  heartbeatSeconds: number;
  /** How long the steady state (every instance heartbeating every 5 s, over 2 nodes) is watched. */
  steadySeconds: number;
  cpus: CpuPlan;
  workDir: string;
}

export interface ClusterRound {
  sqlite: LoadResult;
  cluster: LoadResult;
}

export interface ClusterBenchResult {
  rounds: ClusterRound[];
  steady: { heartbeatsPerSecond: number; proposalsPerSecond: number; seconds: number; registrationProposals: number };
}

export interface ClusterSummary {
  sqlite: LoadResult;
  cluster: LoadResult;
  /** Median of the rounds' cluster ÷ SQLite heartbeat rates. */
  ratio: number;
  proposalsPerSecond: number;
}

const BEACON_BIN = join(packageRoot, 'bin/beacon.js');
const LISTENING = /^(?=[\s\S]*HTTP API listening on (http:\/\/[^\s"]+))(?=[\s\S]*DNS listening on udp:\/\/[^\s"]*:(\d+))/;
const HEARTBEAT_PERIOD_S = 5;

/**
 * Heartbeats at one node of a cluster over a real 3-member etcd, against the same node on SQLite,
 * round by round (each a fresh process, back to back, so the ratio shares the machine's mood);
 * then the steady state of issue 13: the fleet heartbeating every 5 s over two nodes, with etcd's
 * own count of committed proposals read before and after.
 */
export async function benchCluster(settings: ClusterBenchSettings, log: (line: string) => void): Promise<ClusterBenchResult> {
  const etcd = await startEtcdCluster();
  try {
    const rounds: ClusterRound[] = [];
    for (let round = 1; round <= settings.rounds; round++) {
      const sqlite = await withListeningProcess(beaconStart(join(settings.workDir, `cluster-round-${round}.db`), settings.cpus.server), (server) => heartbeats(server, settings));
      log(`round ${round}/${settings.rounds}: SQLite node ${describeLoad(sqlite)}`);
      const cluster = await withListeningProcess(clusterNode(etcd, `/bench-${round}/`, 'bench-a', settings.cpus.server), (server) => heartbeats(server, settings));
      log(`round ${round}/${settings.rounds}: cluster node ${describeLoad(cluster)}`);
      rounds.push({ sqlite, cluster });
    }
    const steady = await steadyState(etcd, settings, log);
    return { rounds, steady };
  } finally {
    await etcd.stop();
  }
}

export function summarizeCluster(result: ClusterBenchResult): ClusterSummary {
  return {
    sqlite: medianResult(result.rounds.map((round) => round.sqlite)),
    cluster: medianResult(result.rounds.map((round) => round.cluster)),
    ratio: median(result.rounds.map((round) => round.cluster.requestsPerSecond / round.sqlite.requestsPerSecond)),
    proposalsPerSecond: result.steady.proposalsPerSecond,
  };
}

function clusterNode(etcd: EtcdCluster, prefix: string, name: string, cpu: number | undefined): ProcessStart {
  const args = [BEACON_BIN, 'server', '--http-port', '0', '--dns-port', '0', '--etcd', etcd.clientUrls.join(','), '--etcd-prefix', prefix, '--node-name', name, '--log-level', 'info'];
  const [command, commandArgs] = onCpu(cpu, process.execPath, args);
  return { command, args: commandArgs, listeningLine: LISTENING, name: `Beacon node ${name}` };
}

async function heartbeats(server: ListeningProcess, settings: ClusterBenchSettings): Promise<LoadResult> {
  await registerFleet(server.url, settings.fleet, settings.connections);
  await runWrk(heartbeatLoad(server, settings, settings.warmupSeconds));
  return runLoad(server, heartbeatLoad(server, settings, settings.heartbeatSeconds));
}

/** Two nodes, the fleet registered through them, every instance heartbeating every 5 s at one or the other. */
async function steadyState(etcd: EtcdCluster, settings: ClusterBenchSettings, log: (line: string) => void) {
  const prefix = '/bench-steady/';
  return withListeningProcess(clusterNode(etcd, prefix, 'steady-a', settings.cpus.server), (a) =>
    withListeningProcess(clusterNode(etcd, prefix, 'steady-b', settings.cpus.server), async (b) => {
      // etcd's counter moves with every write: registering the fleet shows it does.
      const beforeRegistration = await proposals(etcd);
      await registerFleet(a.url, settings.fleet, settings.connections);
      const registrationProposals = (await proposals(etcd)) - beforeRegistration;
      const nodes = [a.url, b.url];
      const agent = new Agent({ connections: 32 });
      const perSecond = settings.fleet.instances / HEARTBEAT_PERIOD_S;
      let sent = 0;
      let failed = 0;
      const beat = (n: number) => {
        const { service, id } = instanceName(settings.fleet, n);
        sent += 1;
        request(`${nodes[n % 2]}/v1/services/${service}/instances/${id}/heartbeat`, { method: 'PUT', dispatcher: agent })
          .then((response) => {
            if (response.statusCode !== 200) failed += 1;
            return response.body.dump();
          })
          .catch(() => (failed += 1));
      };
      // One tenth of the fleet every 500 ms: each instance every 5 s, alternating nodes.
      const tick = 500;
      const perTick = Math.round((perSecond * tick) / 1000);
      let next = 0;
      const send = () => {
        for (let i = 0; i < perTick; i++) beat(next++ % settings.fleet.instances);
      };
      for (let i = 0; i < (HEARTBEAT_PERIOD_S * 1000) / tick; i++) send(); // every instance once, then steady
      const before = await proposals(etcd);
      sent = 0;
      const started = performance.now();
      const timer = setInterval(send, tick);
      await new Promise((resolve) => setTimeout(resolve, settings.steadySeconds * 1000));
      clearInterval(timer);
      const seconds = (performance.now() - started) / 1000;
      const after = await proposals(etcd);
      await agent.close();
      const proposalsPerSecond = (after - before) / seconds;
      log(`steady state: ${Math.round(sent / seconds)} heartbeats/s over 2 nodes (${failed} failed), etcd committed ${proposalsPerSecond.toFixed(2)} proposals/s (registering the fleet: ${registrationProposals})`);
      if (failed > 0) throw new Error(`${failed} heartbeats failed in the steady state`);
      return { heartbeatsPerSecond: Math.round(sent / seconds), proposalsPerSecond, seconds, registrationProposals };
    }),
  );
}

/** etcd's own count of committed proposals (every member commits each; the leader's is read). */
async function proposals(etcd: EtcdCluster): Promise<number> {
  const leader = await etcd.leader();
  const text = await (await fetch(`${leader.clientUrl}/metrics`)).text();
  const match = /^etcd_server_proposals_committed_total (\S+)$/m.exec(text);
  if (!match) throw new Error(`etcd ${leader.clientUrl}/metrics has no etcd_server_proposals_committed_total`);
  return Number(match[1]);
}

export const CLUSTER_SECTION = 'cluster-bench';

export function renderClusterSection(date: Date, settings: ClusterBenchSettings, result: ClusterBenchResult, summary: ClusterSummary): string {
  const fmt = (n: number) => Math.round(n).toLocaleString('en-US');
  const cpu = (r: LoadResult) => (r.cpuUsPerRequest === undefined ? 'n/a' : `${r.cpuUsPerRequest.toFixed(1)} µs`);
  return [
    '## Cluster: heartbeats at a node over etcd, and what reaches etcd',
    '',
    `- Run ${date.toISOString().slice(0, 16).replace('T', ' ')} UTC; medians of ${settings.rounds} rounds; each round a fresh SQLite node, then a fresh node of a cluster over a real 3-member etcd on loopback.`,
    `- ${settings.fleet.instances.toLocaleString('en-US')} instances in ${settings.fleet.services} services; wrk, ${settings.connections} connections, heartbeats for ${settings.heartbeatSeconds} s after ${settings.warmupSeconds} s of warm-up.`,
    `- Steady state: the fleet registered through one node, every instance heartbeating every ${HEARTBEAT_PERIOD_S} s at the two nodes in turn (${fmt(result.steady.heartbeatsPerSecond)} heartbeats/s), for ${Math.round(result.steady.seconds)} s; etcd's \`etcd_server_proposals_committed_total\` read from the leader before and after (registering the fleet before it moved the counter by ${fmt(result.steady.registrationProposals)}).`,
    '',
    '| Target | Goal | Measured | Met |',
    '| --- | ---: | ---: | ---: |',
    `| Heartbeats at a cluster node ÷ the same node on SQLite | ≥ 0.9× | ${summary.ratio.toFixed(2)}× | ${summary.ratio >= 0.9 ? 'yes' : 'no'} |`,
    `| etcd proposals committed per second in the steady state | ≤ 20/s | ${summary.proposalsPerSecond.toFixed(2)}/s | ${summary.proposalsPerSecond <= 20 ? 'yes' : 'no'} |`,
    '',
    '| Round | SQLite req/s | SQLite p99 | SQLite CPU | Cluster req/s | Cluster p99 | Cluster CPU | ratio |',
    '| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
    ...result.rounds.map(
      (round, i) =>
        `| ${i + 1} | ${fmt(round.sqlite.requestsPerSecond)} | ${round.sqlite.p99Ms} ms | ${cpu(round.sqlite)} | ${fmt(round.cluster.requestsPerSecond)} | ${round.cluster.p99Ms} ms | ${cpu(round.cluster)} | ${(round.cluster.requestsPerSecond / round.sqlite.requestsPerSecond).toFixed(2)}× |`,
    ),
  ].join('\n');
}
