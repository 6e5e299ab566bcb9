import { join } from 'node:path';
import { Agent, request } from 'undici';
import type { EtcdCluster } from '../../test/support/local-etcd.js';
import { registerFleet } from '../support/beacon-http.js';
import { beaconNodeStart, beaconStart } from '../support/beacon-process.js';
import { instanceName } from '../support/fleet.js';
import { type ListeningProcess, withListeningProcess } from '../support/listening-process.js';
import { inTurns } from '../support/turns.js';
import { runWrk } from '../support/wrk.js';
import { describeLoad, heartbeatLoad, type LoadResult, runLoad } from '../registry-http.js';
import type { ClusterBenchSettings } from './cluster-bench.js';
import { proposals, withTwoNodes } from './nodes.js';

export interface HeartbeatRound {
  sqlite: LoadResult;
  cluster: LoadResult;
}

export interface SteadyState {
  heartbeatsPerSecond: number;
  proposalsPerSecond: number;
  seconds: number;
  registrationProposals: number;
}

export const HEARTBEAT_PERIOD_S = 5;

/**
 * Heartbeats at one node of the cluster against the same node on SQLite, each a fresh process,
 * back to back, so the ratio shares the machine's mood; which goes first alternates.
 */
export async function heartbeatRound(etcd: EtcdCluster, settings: ClusterBenchSettings, round: number, log: (line: string) => void): Promise<HeartbeatRound> {
  const [sqlite, cluster] = await inTurns(
    round,
    async () => {
      const result = await withListeningProcess(beaconStart(join(settings.workDir, `cluster-round-${round}.db`), settings.cpus.server), (server) => heartbeats(server, settings));
      log(`round ${round}/${settings.rounds}: heartbeats at a SQLite node ${describeLoad(result)}`);
      return result;
    },
    async () => {
      const result = await withListeningProcess(beaconNodeStart(etcd.clientUrls, `/bench-${round}/`, 'bench-a', settings.cpus.server), (server) => heartbeats(server, settings));
      log(`round ${round}/${settings.rounds}: heartbeats at a cluster node ${describeLoad(result)}`);
      return result;
    },
  );
  return { sqlite, cluster };
}

async function heartbeats(server: ListeningProcess, settings: ClusterBenchSettings): Promise<LoadResult> {
  await registerFleet(server.url, settings.fleet, settings.connections);
  await runWrk(heartbeatLoad(server, settings, settings.warmupSeconds));
  return runLoad(server, heartbeatLoad(server, settings, settings.heartbeatSeconds));
}

/**
 * The steady state of issue 13: two nodes, the fleet registered through one, every instance
 * heartbeating every 5 s at one or the other, with etcd's own count of committed proposals read
 * before and after.
 */
export async function steadyState(etcd: EtcdCluster, settings: ClusterBenchSettings, log: (line: string) => void): Promise<SteadyState> {
  return withTwoNodes(etcd, '/bench-steady/', settings.cpus.server, async (a, b) => {
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
  });
}
