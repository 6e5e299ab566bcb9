import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { EtcdClient } from '../../server/store/etcd/etcd-client.js';
import { parse, queryPacket, udpExchange } from '../support/dns.js';
import { type EtcdCluster, startEtcdCluster } from '../support/etcd-cluster.js';
import { waitFor } from '../support/events.js';
import { client } from '../support/http.js';
import { ownerOf } from '../../server/cluster/ownership.js';
import { expirations } from '../support/cluster-load.js';
import { type ServerProcess, startServerProcess } from '../support/server-process.js';

/**
 * What a cluster does when a part of it fails: real `beacon server` processes over a real
 * 3-member etcd cluster, one failure per suite.
 */
describe('a Beacon node killed (kill -9) under load', () => {
  let etcd: EtcdCluster;
  const prefix = `/beacon-kill-${process.pid}/`;
  const nodes: ServerProcess[] = [];

  before(async () => {
    etcd = await startEtcdCluster();
    for (const name of ['node-a', 'node-b', 'node-c']) {
      nodes.push(await startServerProcess(['--etcd', etcd.clientUrls.join(','), '--etcd-prefix', prefix, '--node-name', name]));
    }
  });
  after(async () => {
    await Promise.all(nodes.map((node) => node.stop('SIGKILL')));
    await etcd?.stop();
  });

  test('loses no acknowledged registration, and no instance that kept heartbeating turns critical', async () => {
    const [a, b, c] = nodes as [ServerProcess, ServerProcess, ServerProcess];
    const survivors = [a, b];
    // Ten instances that heartbeat every 500 ms (TTL 2 s) at the surviving nodes, in turn.
    const heartbeating = Array.from({ length: 10 }, (_, i) => `h${i}`);
    for (const id of heartbeating) assert.equal((await client(c.url).register('hb', id, { ttl: 2 })).status, 201);
    await waitFor(async () => (await Promise.all(survivors.map(async (node) => (await client(node.url).instances('hb')).body.length))).every((n) => n === 10), {
      what: 'the 10 heartbeating instances at both survivors',
    });
    let beat = 0;
    const heartbeats = setInterval(() => {
      for (const id of heartbeating) void client(survivors[beat++ % 2]!.url).heartbeat('hb', id).catch(() => undefined);
    }, 500);
    const seenCritical = new Set<string>();
    let watching = true;
    const watcher = (async () => {
      while (watching) {
        for (const node of survivors) {
          for (const instance of (await client(node.url).instances('hb')).body) if (instance.status !== 'passing') seenCritical.add(`${instance.id} ${instance.status}`);
        }
      }
    })();

    // 400 registrations spread over the three nodes, four at a time (a few hundred a second on
    // a quiet machine); node-c is killed after the 100th.
    const acknowledged = new Set<string>();
    let sent = 0;
    // Counted, not timed, so a slow machine sends the same load: node-c dies after the 100th.
    const killAfter = 100;
    const total = 400;
    let killed: Promise<unknown> | undefined;
    const until = Date.now() + 30_000;
    const workers = Array.from({ length: 4 }, async (_, worker) => {
      for (let i = 0; Date.now() < until && sent < total; i++) {
        if (!killed && sent >= killAfter) killed = c.stop('SIGKILL');
        const id = `r${worker}-${i}`;
        const node = nodes[(worker + i) % 3]!;
        sent += 1;
        const answer = await client(node.url).register('load', id, { ttl: 60 }).catch(() => undefined);
        if (answer && answer.status >= 200 && answer.status < 300) acknowledged.add(id);
      }
    });
    await Promise.all(workers);
    await killed;
    // Past node-c's 5 s session and two TTLs, so its instances have moved to new owners by now.
    await waitFor(async () => {
      const views = await Promise.all(survivors.map(async (node) => (await client(node.url).get('/v1/cluster')).body.nodes.length));
      return views.every((count) => count === 2);
    }, { what: "node-c's session to end", timeoutMs: 15_000 });
    const ownersMoved = Date.now();
    // Time is the subject: the instances must stay passing for two TTLs under their new owners.
    await waitFor(() => Date.now() - ownersMoved > 4_000, { what: 'two TTLs under the new owners', intervalMs: 100 });
    watching = false;
    clearInterval(heartbeats);
    await watcher;

    const etcdClient = new EtcdClient({ endpoints: etcd.clientUrls });
    const stored = new Set((await etcdClient.get(`${prefix}instances/load/`)).kvs.map((kv) => kv.key.slice(`${prefix}instances/load/`.length)));
    await etcdClient.close();
    const views = await Promise.all(survivors.map(async (node) => new Set((await client(node.url).instances('load')).body.map((instance: { id: string }) => instance.id))));

    assert.ok(acknowledged.size > 200, `the load was real: ${acknowledged.size} of ${sent} acknowledged`);
    for (const id of acknowledged) {
      assert.ok(stored.has(id), `acknowledged ${id} is in etcd`);
      for (const [i, view] of views.entries()) assert.ok(view.has(id), `acknowledged ${id} is in ${survivors[i]!.url}'s view`);
    }
    assert.deepEqual([...seenCritical], [], 'no heartbeating instance left passing');
  });
});

describe('a Beacon node cut off from etcd', () => {
  let etcd: EtcdCluster;
  const prefix = `/beacon-cut-${process.pid}/`;
  let cut: ServerProcess;
  let other: ServerProcess;

  before(async () => {
    etcd = await startEtcdCluster();
    // node-a talks to member 0 only; node-b to the other two, which keep the quorum.
    cut = await startServerProcess(['--etcd', etcd.clientUrls[0]!, '--etcd-prefix', prefix, '--node-name', 'node-a']);
    other = await startServerProcess(['--etcd', etcd.clientUrls.slice(1).join(','), '--etcd-prefix', prefix, '--node-name', 'node-b']);
  });
  after(async () => {
    await Promise.all([cut, other].map((node) => node?.stop('SIGKILL')));
    await etcd?.stop();
  });

  test('stops being ready, refuses writes, keeps answering DNS, expires nothing, and catches up when etcd is back', async () => {
    assert.equal((await client(other.url).register('web', 'w1', { ttl: 60, port: 9001 })).status, 201);
    // An instance node-a owns that never heartbeats: its TTL runs out during the cut, and
    // node-a, cut off, must not expire it (the rest of the cluster does, once node-a is gone).
    const owned = Array.from({ length: 50 }, (_, i) => `t${i}`).find((id) => ownerOf(`ttl/${id}`, ['node-a', 'node-b']) === 'node-a')!;
    assert.equal((await client(other.url).register('ttl', owned, { ttl: 5 })).status, 201);
    await waitFor(async () => (await client(cut.url).instances('ttl')).body.length === 1, { what: `ttl/${owned} at node-a` });
    const expiredBefore = await expirations(cut);

    await etcd.member(0).pause();
    const paused = Date.now();
    assert.equal((await client(cut.url).instances('ttl')).body[0]?.status, 'passing', 'precondition: still passing when the cut began');
    const notReady = await waitFor(async () => {
      const answer = await fetch(`${cut.url}/readyz`);
      return answer.status === 503 ? answer : undefined;
    }, { what: 'node-a not ready', timeoutMs: 15_000 });
    const notReadyAfterMs = Date.now() - paused;
    const write = await client(cut.url).register('web', 'w2', { port: 9002 });
    const dns = await udpExchange(cut.dnsPort, queryPacket('web.service.beacon.internal', 'SRV'));
    const stale = await client(cut.url).instances('web');
    // Meanwhile the rest of the cluster goes on: a registration at node-b.
    assert.equal((await client(other.url).register('api', 'a1', { port: 9100 })).status, 201);

    // Cut off for longer than its 5 s session: the rest of the cluster sees it gone.
    await waitFor(async () => !(await client(other.url).get('/v1/cluster')).body.nodes.some((node: { name: string }) => node.name === 'node-a'), {
      what: "node-a's session ending, seen from node-b",
      timeoutMs: 15_000,
    });
    const expiredWhileCut = (await expirations(cut)) - expiredBefore;
    await etcd.member(0).resume();
    await waitFor(async () => (await fetch(`${cut.url}/readyz`)).status === 200, { what: 'node-a ready again', timeoutMs: 20_000 });
    await waitFor(async () => (await client(cut.url).instances('api')).body.length === 1, { what: 'node-a catching up with api/a1', timeoutMs: 20_000 });
    await waitFor(async () => (await client(cut.url).instances('ttl')).body[0]?.status === 'critical', { what: `node-a catching up with the expiry of ttl/${owned}`, timeoutMs: 20_000 });
    // Its session ended meanwhile: it joins again with a new one, and the others see it live.
    await waitFor(async () => (await client(other.url).get('/v1/cluster')).body.nodes.some((node: { name: string }) => node.name === 'node-a'), {
      what: 'node-a a live node again, seen from node-b',
      timeoutMs: 20_000,
    });

    const silentMs = Number(/no answer from etcd for (\d+) ms/.exec(await notReady.text())?.[1]);
    assert.ok(silentMs > 3_000, `not ready once etcd has been silent for over 3 s (${silentMs} ms; ${notReadyAfterMs} ms after the pause)`);
    assert.equal(write.status, 503, 'a write it cannot commit is refused');
    assert.ok(dns, 'DNS still answers');
    assert.equal(parse(dns).header.rcode, 0);
    assert.ok(Number(stale.headers.get('x-beacon-last-contact')) > 0, 'reads say how stale they may be');
    assert.equal(expiredWhileCut, 0, 'the cut-off node expired nothing while cut off');
    // Back in contact, either node may be the one that expires it (whichever owns it first): once.
    assert.equal((await expirations(cut)) - expiredBefore + (await expirations(other)), 1, `ttl/${owned} expired once`);
  });
});

