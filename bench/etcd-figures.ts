/**
 * The etcd figures quoted in docs/etcd-notes.md, measured on a real 3-member cluster on
 * loopback: write latency through the wrapper (to the leader and to a follower), watch latency
 * (put sent → event received on another member), time to a new leader and to the first committed
 * write after `kill -9` of the leader, and how long etcd3's default client takes to fail against a
 * paused member compared with the wrapper.
 *
 *   npx tsc -p tsconfig.json && node dist/bench/etcd-figures.js [--samples 300] [--kills 5]
 */
import { Etcd3 } from 'etcd3';
import { EtcdClient } from '../server/store/etcd/etcd-client.js';
import { type EtcdCluster, type EtcdMember as Member, startEtcdCluster } from '../test/support/local-etcd.js';

const args = process.argv.slice(2);
const option = (name: string, fallback: number) => {
  const at = args.indexOf(`--${name}`);
  return at >= 0 ? Number(args[at + 1]) : fallback;
};
const SAMPLES = option('samples', 300);
const KILLS = option('kills', 5);

function quantile(values: number[], q: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
}

const ms = (value: number) => `${value.toFixed(1)} ms`;

function endpointsStartingAt(cluster: EtcdCluster, first: Member): string[] {
  return [first.clientUrl, ...cluster.members.filter((m) => m !== first).map((m) => m.clientUrl)];
}

async function writeLatency(cluster: EtcdCluster, member: Member): Promise<number[]> {
  const etcd = new EtcdClient({ endpoints: endpointsStartingAt(cluster, member) });
  const samples: number[] = [];
  for (let i = 0; i < SAMPLES + 20; i++) {
    const started = performance.now();
    await etcd.put(`/figures/write/${i % 50}`, `value-${i}`);
    if (i >= 20) samples.push(performance.now() - started); // the first ones warm the connection
  }
  await etcd.close();
  return samples;
}

async function watchLatency(cluster: EtcdCluster, writerAt: Member, watcherAt: Member): Promise<number[]> {
  const writer = new EtcdClient({ endpoints: endpointsStartingAt(cluster, writerAt) });
  const watcher = new EtcdClient({ endpoints: endpointsStartingAt(cluster, watcherAt) });
  const sentAt = new Map<string, number>();
  const samples: number[] = [];
  let arrived: (() => void) | undefined;
  const start = await writer.put('/figures/watch/start', 'x');
  const watch = watcher.watch('/figures/watch/', start.revision + 1, (events) => {
    for (const event of events) {
      const sent = sentAt.get(event.value.toString());
      if (sent !== undefined) samples.push(performance.now() - sent);
    }
    arrived?.();
  }, () => undefined, () => undefined);
  for (let i = 0; i < SAMPLES; i++) {
    const value = `v${i}`;
    const seen = new Promise<void>((resolve) => (arrived = resolve));
    sentAt.set(value, performance.now());
    await writer.put('/figures/watch/key', value);
    await seen;
  }
  await watch.cancel();
  await Promise.all([writer.close(), watcher.close()]);
  return samples;
}

async function leaderKills(cluster: EtcdCluster): Promise<{ elected: number[]; written: number[] }> {
  const elected: number[] = [];
  const written: number[] = [];
  for (let round = 0; round < KILLS; round++) {
    const leader = await cluster.leader();
    const etcd = new EtcdClient({ endpoints: endpointsStartingAt(cluster, leader), requestTimeoutMs: 1_000 });
    await etcd.put('/figures/kill/warm', 'x');
    const killedAt = performance.now();
    await leader.kill('SIGKILL');
    const election = cluster.leader().then(() => performance.now() - killedAt);
    for (;;) {
      try {
        await etcd.put('/figures/kill/after', String(round));
        break;
      } catch {
        // the failure is the point: keep writing until one is committed
      }
    }
    written.push(performance.now() - killedAt);
    elected.push(await election);
    await etcd.close();
    await leader.start();
    await cluster.waitHealthy();
  }
  return { elected, written };
}

/** A put against a paused member: etcd3 with its default retry and breaker, then the wrapper. */
async function pausedMember(member: Member): Promise<{ etcd3Defaults: number; wrapper: number }> {
  const defaults = new Etcd3({ hosts: member.clientUrl, defaultCallOptions: (context) => (context.isStream ? {} : { deadline: Date.now() + 1_000 }) });
  const wrapper = new EtcdClient({ endpoints: [member.clientUrl], requestTimeoutMs: 1_000 });
  await defaults.put('/figures/paused/warm').value('x');
  await wrapper.put('/figures/paused/warm', 'x');
  await member.pause();
  const time = async (attempt: () => Promise<unknown>) => {
    const started = performance.now();
    await attempt().catch(() => undefined); // it is expected to fail; only the time counts
    return performance.now() - started;
  };
  const etcd3Defaults = await time(async () => defaults.put('/figures/paused/x').value('y'));
  const wrapped = await time(() => wrapper.put('/figures/paused/x', 'y'));
  await member.resume();
  defaults.close();
  await wrapper.close();
  return { etcd3Defaults, wrapper: wrapped };
}

const cluster = await startEtcdCluster();
try {
  const leader = await cluster.leader();
  const follower = cluster.members.find((m) => m !== leader)!;
  const other = cluster.members.find((m) => m !== leader && m !== follower)!;
  const toLeader = await writeLatency(cluster, leader);
  const toFollower = await writeLatency(cluster, follower);
  const watched = await watchLatency(cluster, leader, other);
  const paused = await pausedMember(other);
  await cluster.waitHealthy();
  const kills = await leaderKills(cluster);
  const row = (name: string, values: number[]) => `| ${name} | ${values.length} | ${ms(quantile(values, 0.5))} | ${ms(quantile(values, 0.99))} | ${ms(Math.max(...values))} |`;
  console.log(['| figure | samples | median | p99 | max |', '| --- | --- | --- | --- | --- |',
    row('put via the leader', toLeader),
    row('put via a follower', toFollower),
    row('watch: put sent → event on another member', watched),
    row('kill -9 leader → new leader answers', kills.elected),
    row('kill -9 leader → first committed write', kills.written),
  ].join('\n'));
  console.log(`\nput against a paused member, 1000 ms deadline: etcd3 defaults ${ms(paused.etcd3Defaults)}, wrapper ${ms(paused.wrapper)}`);
} finally {
  await cluster.stop();
}
