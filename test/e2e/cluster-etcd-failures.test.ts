import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { EtcdClient } from '../../server/store/etcd/etcd-client.js';
import { assertAllKept, underLoad } from '../support/cluster-load.js';
import { type EtcdCluster, startEtcdCluster } from '../support/etcd-cluster.js';
import { waitFor } from '../support/events.js';
import { client } from '../support/http.js';
import { scrape } from '../support/metrics.js';
import { type ServerProcess, startServerProcess } from '../support/server-process.js';

/** What the cluster does when etcd itself fails: real nodes over a real 3-member etcd cluster. */
describe('etcd members killed (kill -9) under load', () => {
  let etcd: EtcdCluster;
  const prefix = `/beacon-etcd-kill-${process.pid}/`;
  const nodes: ServerProcess[] = [];

  before(async () => {
    etcd = await startEtcdCluster();
    for (const name of ['node-a', 'node-b']) {
      nodes.push(await startServerProcess(['--etcd', etcd.clientUrls.join(','), '--etcd-prefix', prefix, '--node-name', name]));
    }
    assert.equal((await client(nodes[0]!.url).register('load', 'seed', { ttl: 60 })).status, 201);
  });
  after(async () => {
    await Promise.all(nodes.map((node) => node.stop('SIGKILL')));
    await etcd?.stop();
  });

  for (const role of ['leader', 'follower'] as const) {
    test(`the ${role}: nothing acknowledged is lost, writes come back within 5 s, DNS never stops answering`, async () => {
      await etcd.waitHealthy();
      const leader = await etcd.leader();
      const victim = role === 'leader' ? leader : etcd.members.find((member) => member !== leader && member.running())!;

      const load = await underLoad(nodes, 600, 150, () => victim.kill('SIGKILL'));
      await victim.start();

      assert.ok(load.acknowledged.size > 300, `the load was real: ${load.acknowledged.size} of 600 acknowledged`);
      assert.ok(load.firstWriteAfterFailureMs !== undefined && load.firstWriteAfterFailureMs <= 5_000, `writes came back ${load.firstWriteAfterFailureMs} ms after the kill`);
      assert.equal(load.dnsMisses, 0, `${load.dnsMisses} of ${load.dnsAsked} DNS questions unanswered`);
      await assertAllKept(etcd, prefix, nodes, load.acknowledged);
    });
  }
});

describe('a Beacon node stopped (SIGSTOP) while the others write and etcd compacts', () => {
  let etcd: EtcdCluster;
  const prefix = `/beacon-stop-${process.pid}/`;
  let writer: ServerProcess;
  let stopped: ServerProcess;

  before(async () => {
    etcd = await startEtcdCluster();
    writer = await startServerProcess(['--etcd', etcd.clientUrls.slice(0, 2).join(','), '--etcd-prefix', prefix, '--node-name', 'node-a']);
    // node-b talks to member 2 only, so restarting that member forces its watch to start over.
    stopped = await startServerProcess(['--etcd', etcd.clientUrls[2]!, '--etcd-prefix', prefix, '--node-name', 'node-b']);
  });
  after(async () => {
    stopped?.child.kill('SIGCONT');
    await Promise.all([writer, stopped].map((node) => node?.stop('SIGKILL')));
    await etcd?.stop();
  });

  test('on SIGCONT it lists the registry again, converges, and its index never went back', async () => {
    for (const id of ['w1', 'w2', 'w3']) await client(writer.url).register('web', id, { ttl: 60 });
    const indexOf = async (node: ServerProcess) => Number((await client(node.url).instances('web')).headers.get('x-beacon-index'));
    const before = await waitFor(async () => ((await client(stopped.url).instances('web')).body.length === 3 ? indexOf(stopped) : undefined), { what: 'node-b seeing w1-w3' });

    stopped.child.kill('SIGSTOP');
    // Its member goes away too, so none of what follows reaches it before the compaction.
    await etcd.member(2).stop();
    await client(writer.url).delete('/v1/services/web/instances/w1');
    await client(writer.url).register('web', 'w4', { ttl: 60 });
    await client(writer.url).put('/v1/services/web/instances/w2/maintenance', { enabled: true });
    const etcdClient = new EtcdClient({ endpoints: etcd.clientUrls.slice(0, 2) });
    const { revision } = await etcdClient.get(prefix);
    await etcd.compact(revision);
    await etcdClient.close();
    await etcd.member(2).start();
    stopped.child.kill('SIGCONT');

    const expected = (await client(writer.url).instances('web')).body;
    await waitFor(async () => JSON.stringify((await client(stopped.url).instances('web')).body) === JSON.stringify(expected), { what: 'node-b converging', timeoutMs: 20_000 });
    const after = await indexOf(stopped);
    const relists = (await scrape(stopped.url, 'beacon_etcd_relists_total')).get('') ?? 0;

    assert.ok(relists >= 1, `it listed again after the compaction (${relists})`);
    assert.ok(after > before, `its index moved forward: ${before} → ${after}`);
    assert.equal(after, await indexOf(writer), 'and agrees with the node that wrote');
  });
});
