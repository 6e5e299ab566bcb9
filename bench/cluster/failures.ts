import { Agent } from 'node:http';
import type { EtcdCluster } from '../../test/support/local-etcd.js';
import { DOMAIN } from '../dns-fleet.js';
import { registerInstances, sendRequest } from '../support/beacon-http.js';
import { beaconNodeStart, dnsPortOf } from '../support/beacon-process.js';
import { type ListeningProcess, withListeningProcess } from '../support/listening-process.js';
import { udpReceiveBufferDrops } from '../soak/server-samples.js';
import type { ClusterBenchSettings } from './cluster-bench.js';
import { type Asked, DnsAsker } from './dns-asker.js';
import { LASTING_BODY, withTwoNodes } from './nodes.js';

export interface LeaderKill {
  /** The etcd member that led and was killed. */
  member: string;
  /** From the kill to the acknowledgement of the first write sent after it; Infinity: none within the bound. */
  unavailableMs: number;
  acknowledged: number;
  /** Writes answered with anything but 201 (503 while etcd has no leader). */
  refused: number;
  /** Writes with no answer at all (socket error or the client's timeout). */
  unanswered: number;
}

export interface NodeKill {
  sent: number;
  /** Queries unanswered within the timeout, or answered with an error or no record. */
  failed: number;
  /** Of the failed: those unanswered within the timeout. */
  timedOut: number;
  /** When the first and the last failed query was sent, in ms from the kill (negative: before it). */
  failedFromMs?: number;
  failedToMs?: number;
  /** UDP datagrams the kernel dropped for a full receive buffer meanwhile, machine-wide (Linux). */
  udpDrops?: number;
}

/** The failure trials' load and timings (the report states them). */
export const FAILURE_LOAD = {
  /** Writes keep being sent this long after a leader's death before it counts as unavailable for good. */
  leaderKillBoundMs: 15_000,
  writeEveryMs: 10,
  /**
   * Writes sent while etcd has no leader wait out the node's 2 s etcd deadline before their 503:
   * the cap must stay above 2 s of writes, or the loop would stop sending while they wait and
   * the time to the first acknowledged write would be the deadline's, not etcd's.
   */
  maxWritesInFlight: 500,
  beforeLeaderKillMs: 1_000,
  afterBackMs: 500,
  /** Queries a second at the surviving node: this many every 10 ms. */
  queriesPerTick: 10,
  tickMs: 10,
  beforeNodeKillMs: 2_000,
  /** Past the killed node's 5 s session, so the survivor also takes over its instances meanwhile. */
  afterNodeKillMs: 7_000,
  queryTimeoutMs: 2_000,
  heldInstances: 20,
} as const;

/**
 * A registration every 10 ms at one node while the etcd leader is killed with SIGKILL, trial
 * after trial; between trials the member is started again and the cluster waits to be healthy.
 */
export async function killLeaders(etcd: EtcdCluster, settings: ClusterBenchSettings, log: (line: string) => void): Promise<LeaderKill[]> {
  return withListeningProcess(beaconNodeStart(etcd.clientUrls, '/bench-leader-kill/', 'bench-a', settings.cpus.server), async (node) => {
    const trials: LeaderKill[] = [];
    for (let trial = 1; trial <= settings.kills; trial++) {
      trials.push(await killLeaderOnce(etcd, node, `k${trial}`));
      const last = trials[trials.length - 1]!;
      log(`etcd leader kill ${trial}/${settings.kills} (${last.member}): writes back after ${Math.round(last.unavailableMs)} ms, ${last.refused} refused, ${last.unanswered} unanswered`);
    }
    return trials;
  });
}

async function killLeaderOnce(etcd: EtcdCluster, node: ListeningProcess, tag: string): Promise<LeaderKill> {
  const agent = new Agent({ keepAlive: true, maxSockets: FAILURE_LOAD.maxWritesInFlight });
  const counts = { acknowledged: 0, refused: 0, unanswered: 0 };
  let killedAt = Number.POSITIVE_INFINITY;
  let backAt: number | undefined;
  let back: () => void = () => undefined;
  const isBack = new Promise<void>((resolve) => (back = resolve));
  const inFlight = new Set<Promise<void>>();
  let n = 0;
  const write = () => {
    if (inFlight.size >= FAILURE_LOAD.maxWritesInFlight) return;
    const sentAt = performance.now();
    const sent = sendRequest(agent, 'PUT', `${node.url}/v1/services/leader-kill/instances/${tag}-${n++}`, { body: LASTING_BODY }).then(
      (answer) => {
        if (answer.status !== 201) return void (counts.refused += 1);
        counts.acknowledged += 1;
        if (sentAt > killedAt && backAt === undefined) {
          backAt = performance.now();
          back();
        }
      },
      () => void (counts.unanswered += 1),
    );
    inFlight.add(sent);
    void sent.finally(() => inFlight.delete(sent));
  };
  const timer = setInterval(write, FAILURE_LOAD.writeEveryMs);
  try {
    await pause(FAILURE_LOAD.beforeLeaderKillMs);
    const leader = await etcd.leader();
    const before = { ...counts };
    killedAt = performance.now();
    await leader.kill('SIGKILL');
    let bound: NodeJS.Timeout | undefined;
    await Promise.race([isBack, new Promise((resolve) => (bound = setTimeout(resolve, FAILURE_LOAD.leaderKillBoundMs)))]);
    clearTimeout(bound);
    await pause(FAILURE_LOAD.afterBackMs);
    clearInterval(timer);
    await Promise.all(inFlight);
    await leader.start();
    await etcd.waitHealthy();
    return {
      member: leader.name,
      unavailableMs: backAt === undefined ? Number.POSITIVE_INFINITY : backAt - killedAt,
      acknowledged: counts.acknowledged - before.acknowledged,
      refused: counts.refused - before.refused,
      unanswered: counts.unanswered - before.unanswered,
    };
  } finally {
    clearInterval(timer);
    agent.destroy();
  }
}

/**
 * Node B asked 1,000 questions a second (A, for a service registered at node A)
 * while node A is killed with SIGKILL; every question must be answered NOERROR with records.
 */
export async function killNode(etcd: EtcdCluster, settings: ClusterBenchSettings, trial: number): Promise<NodeKill> {
  return withTwoNodes(etcd, `/bench-node-kill-${trial}/`, settings.cpus.server, async (a, b) => {
    await registerInstances(a.url, FAILURE_LOAD.heldInstances, 4, (n) => ({ path: `/v1/services/held/instances/h-${n}`, body: LASTING_BODY }));
    const asker = await DnsAsker.open(dnsPortOf(b));
    const name = `held.service.${DOMAIN}`;
    try {
      await waitUntilAnswered(asker, name);
      const questions: Promise<{ sentAt: number; asked: Asked | undefined }>[] = [];
      const ask = () => {
        for (let i = 0; i < FAILURE_LOAD.queriesPerTick; i++) {
          const sentAt = performance.now();
          questions.push(asker.ask(name, 'A', FAILURE_LOAD.queryTimeoutMs).then((asked) => ({ sentAt, asked })));
        }
      };
      const dropsBefore = udpReceiveBufferDrops();
      const timer = setInterval(ask, FAILURE_LOAD.tickMs);
      await pause(FAILURE_LOAD.beforeNodeKillMs);
      const killedAt = performance.now();
      process.kill(a.pid, 'SIGKILL');
      await pause(FAILURE_LOAD.afterNodeKillMs);
      clearInterval(timer);
      const answers = await Promise.all(questions);
      const dropsAfter = udpReceiveBufferDrops();
      const failed = answers.filter(({ asked }) => !(asked?.noError && asked.answers > 0)).map(({ sentAt, asked }) => ({ atMs: sentAt - killedAt, asked }));
      return {
        sent: answers.length,
        failed: failed.length,
        timedOut: failed.filter(({ asked }) => asked === undefined).length,
        ...(failed.length > 0 ? { failedFromMs: failed[0]!.atMs, failedToMs: failed[failed.length - 1]!.atMs } : {}),
        ...(dropsBefore !== undefined && dropsAfter !== undefined ? { udpDrops: dropsAfter - dropsBefore } : {}),
      };
    } finally {
      asker.close();
    }
  });
}

/** B has applied A's registrations once it answers with a record (bounded by 5 s). */
async function waitUntilAnswered(asker: DnsAsker, name: string): Promise<void> {
  const deadline = performance.now() + 5_000;
  while (performance.now() < deadline) {
    const asked = await asker.ask(name, 'A', 1_000);
    if (asked?.noError && asked.answers > 0) return;
    await pause(10);
  }
  throw new Error(`node B did not answer ${name} with a record within 5 s`);
}

function pause(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
