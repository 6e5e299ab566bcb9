import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import { type EtcdCluster, startEtcdCluster } from '../../../support/etcd-cluster.js';

describe('the etcd test cluster', () => {
  let cluster: EtcdCluster;
  before(async () => {
    cluster = await startEtcdCluster();
  });
  after(() => cluster?.stop());

  test('three members start on distinct loopback ports and elect one leader', async () => {
    assert.equal(cluster.members.length, 3);
    assert.equal(new Set(cluster.clientUrls).size, 3);
    const leader = await cluster.leader();
    assert.ok(cluster.members.includes(leader));
  });

  test('a killed leader is replaced, and comes back as a follower on its old data', async () => {
    const old = await cluster.leader();
    await old.kill('SIGKILL');
    assert.equal(old.running(), false);
    const next = await cluster.leader();
    assert.notEqual(next, old);
    await old.start();
    await cluster.waitHealthy();
    assert.equal((await cluster.leader()).running(), true);
  });

  test('stop kills every member and removes their folders', async () => {
    const dirs = cluster.members.map((m) => m.dataDir);
    await cluster.stop();
    assert.ok(cluster.members.every((m) => !m.running()));
    assert.ok(dirs.every((d) => !existsSync(d)));
  });
});
