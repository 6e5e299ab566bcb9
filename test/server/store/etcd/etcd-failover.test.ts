import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { EtcdClient, type EtcdError, type WatchEvent } from '../../../../server/store/etcd/etcd-client.js';
import { type EtcdCluster, type EtcdMember, startEtcdCluster } from '../../../support/etcd-cluster.js';
import { waitFor } from '../../../support/events.js';

/** Tries a write until one is committed; resolves with how many attempts it took and what failed. */
async function writeUntilCommitted(etcd: EtcdClient, key: string, timeoutMs: number) {
  const failures: string[] = [];
  await waitFor(async () => {
      try {
        await etcd.put(key, String(failures.length));
        return true;
      } catch (error) {
        failures.push((error as EtcdError).code);
        return false;
      }
    }, { what: 'a committed write', timeoutMs: timeoutMs });
  return failures;
}

/** Measures how long a promise takes to settle, and how it settled. */
async function timed<T>(promise: Promise<T>): Promise<{ ms: number; error?: EtcdError }> {
  const started = Date.now();
  try {
    await promise;
    return { ms: Date.now() - started };
  } catch (error) {
    return { ms: Date.now() - started, error: error as EtcdError };
  }
}

describe('EtcdClient when etcd members fail', () => {
  let cluster: EtcdCluster;
  before(async () => {
    cluster = await startEtcdCluster();
  });
  after(() => cluster?.stop());

  /** A member that is not the leader now. */
  async function follower(): Promise<EtcdMember> {
    const leader = await cluster.leader();
    return cluster.members.find((m) => m !== leader)!;
  }

  /** Endpoints with `first` first: the member the client talks to until it fails. */
  function endpointsStartingAt(first: EtcdMember): string[] {
    return [first.clientUrl, ...cluster.members.filter((m) => m !== first).map((m) => m.clientUrl)];
  }

  test('after the leader is killed with SIGKILL, writes through the same client succeed again', async (t) => {
    const leader = await cluster.leader();
    const etcd = new EtcdClient({ endpoints: endpointsStartingAt(leader), requestTimeoutMs: 1_000 });
    t.after(async () => {
      await etcd.close();
      if (!leader.running()) await leader.start();
      await cluster.waitHealthy();
    });
    await etcd.put('/failover/warm', 'connected to the leader');

    const killedAt = Date.now();
    await leader.kill('SIGKILL');
    const elected = cluster.leader().then(() => Date.now() - killedAt);
    const failures = await writeUntilCommitted(etcd, '/failover/after-kill', 30_000);
    const recoveredMs = Date.now() - killedAt;

    t.diagnostic(`new leader answered after ${await elected} ms; first committed write ${recoveredMs} ms after kill -9 (failed attempts: ${failures.join(', ') || 'none'})`);
    assert.ok(recoveredMs < 30_000);
    assert.ok(failures.every((code) => code === 'unavailable' || code === 'unknown-outcome'), failures.join(', '));
  });

  test('when the only member a client talks to is paused (SIGSTOP), reads and writes fail within the deadline', async (t) => {
    const member = await follower();
    const etcd = new EtcdClient({ endpoints: [member.clientUrl], requestTimeoutMs: 1_000 });
    t.after(async () => {
      await member.resume();
      await etcd.close();
      // Without pre-vote (etcd 3.4's default) a resumed member may call an election at once.
      await cluster.waitHealthy();
    });
    await etcd.put('/paused/warm', 'connected');

    await member.pause();
    const write = await timed(etcd.put('/paused/write', 'x'));
    const read = await timed(etcd.get('/paused/'));
    const txn = await timed(etcd.txn({ if: [{ key: '/paused/warm', exists: true }], then: [{ delete: '/paused/warm' }] }));

    t.diagnostic(`paused member: write failed after ${write.ms} ms, read after ${read.ms} ms, txn after ${txn.ms} ms`);
    assert.equal(write.error?.code, 'unknown-outcome');
    assert.equal(read.error?.code, 'unavailable');
    assert.equal(txn.error?.code, 'unknown-outcome');
    for (const { ms } of [write, read, txn]) assert.ok(ms < 1_000 + 500, `took ${ms} ms against a 1000 ms deadline`);
  });

  test('when the preferred member is paused, a read moves on within its deadline and the next write goes elsewhere', async (t) => {
    const member = await follower();
    const etcd = new EtcdClient({ endpoints: endpointsStartingAt(member), requestTimeoutMs: 1_000 });
    t.after(async () => {
      await member.resume();
      await etcd.close();
      // Without pre-vote (etcd 3.4's default) a resumed member may call an election at once.
      await cluster.waitHealthy();
    });
    await etcd.put('/moves-on/warm', 'connected');

    await member.pause();
    const read = await timed(etcd.get('/moves-on/'));
    const write = await timed(etcd.put('/moves-on/after', 'x'));

    t.diagnostic(`read answered after ${read.ms} ms, write after ${write.ms} ms`);
    assert.equal(read.error, undefined);
    assert.equal(write.error, undefined, 'the failed read already moved the client to another member');
    assert.ok(read.ms < 1_000);
  });

  for (const failure of ['killed', 'paused'] as const) {
    test(`a watch whose member is ${failure} resumes on another member without losing or repeating an event`, async (t) => {
      const member = await follower();
      const others = cluster.members.filter((m) => m !== member).map((m) => m.clientUrl);
      const watcher = new EtcdClient({ endpoints: endpointsStartingAt(member), requestTimeoutMs: 1_000, watchLivenessMs: 300 });
      const writer = new EtcdClient({ endpoints: others, requestTimeoutMs: 3_000 });
      t.after(async () => {
        await watcher.close();
        await writer.close();
        if (member.paused()) await member.resume();
        if (!member.running()) await member.start();
        await cluster.waitHealthy();
      });
      const events: WatchEvent[] = [];
      const errors: EtcdError[] = [];
      const prefix = `/resume-${failure}/`;
      const start = await writer.put(`${prefix}000`, '0');
      const watch = watcher.watch(prefix, start.revision, (batch) => void events.push(...batch), () => assert.fail('not compacted'), (e) => void errors.push(e));
      for (let i = 1; i <= 20; i++) await writer.put(`${prefix}${String(i).padStart(3, '0')}`, String(i));
      await waitFor(() => events.length >= 21, { what: 'the first 21 events' });

      if (failure === 'killed') await member.kill('SIGKILL');
      else await member.pause();
      for (let i = 21; i <= 40; i++) await writer.put(`${prefix}${String(i).padStart(3, '0')}`, String(i));
      await waitFor(() => events.length >= 41, { what: 'all 41 events', timeoutMs: 20_000 });

      assert.deepEqual(events.map((e) => e.value.toString()), Array.from({ length: 41 }, (_, i) => String(i)));
      const revisions = events.map((e) => e.modRevision);
      assert.ok(revisions.every((r, i) => i === 0 || r > revisions[i - 1]!), 'strictly increasing revisions');
      assert.ok(watch.stats().reconnects >= 1);
      assert.ok(errors.length >= 1 && errors.every((e) => e.code === 'unavailable'), errors.map((e) => e.message).join('; '));
      t.diagnostic(`${failure}: ${watch.stats().reconnects} reconnect(s): ${errors.map((e) => e.message).join('; ')}`);
    });
  }

  test('a session lease whose keepalives cannot reach etcd is reported expired within its TTL', async (t) => {
    const member = await follower();
    const etcd = new EtcdClient({ endpoints: [member.clientUrl], requestTimeoutMs: 500 });
    t.after(async () => {
      if (member.paused()) await member.resume();
      await etcd.close();
      await cluster.waitHealthy();
    });
    const lease = await etcd.grant(2);
    await etcd.put('/session/node-a', 'up', { lease: lease.id });
    const deadline = lease.expiresAt();

    const pausedAt = Date.now();
    await member.pause();
    const loss = await lease.lost;
    const reportedAt = Date.now();

    t.diagnostic(`lease reported ${loss.reason} ${reportedAt - pausedAt} ms after the member was paused`);
    assert.equal(loss.reason, 'expired');
    assert.ok(reportedAt <= pausedAt + 2_000 + 200, 'no later than one TTL after the last confirmed keepalive');
    assert.ok(reportedAt >= deadline - 50, 'not before the lease could have expired');
  });
});
