import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { type EtcdCluster, startEtcdCluster } from '../support/etcd-cluster.js';
import { waitFor } from '../support/events.js';
import { parse, queryPacket, tcpExchange, udpExchange } from '../support/dns.js';
import { client } from '../support/http.js';
import { runServerExpectingExit, type ServerProcess, startServerProcess } from '../support/server-process.js';

/** Beacon as a cluster: real `beacon server` processes over a real 3-member etcd cluster. */
describe('beacon server --etcd: nodes of one registry', () => {
  let etcd: EtcdCluster;
  const nodes: ServerProcess[] = [];
  const api = (i: number) => client(nodes[i]!.url);
  const srvTargets = async (node: ServerProcess, name: string) => {
    const answer = await udpExchange(node.dnsPort, queryPacket(name, 'SRV'));
    return answer ? parse(answer).answers.map((record) => (record as unknown as { port: number }).port).sort() : [];
  };

  let nodesStartedFrom: number;

  before(async () => {
    etcd = await startEtcdCluster();
    nodesStartedFrom = Date.now();
    const prefix = `/beacon-${process.pid}/`;
    for (const name of ['node-a', 'node-b']) {
      nodes.push(await startServerProcess(['--etcd', etcd.clientUrls.join(','), '--etcd-prefix', prefix, '--node-name', name]));
    }
  });
  after(async () => {
    await Promise.all(nodes.map((node) => node.stop()));
    await etcd?.stop();
  });

  test('a registration at one node is visible at the other over HTTP and DNS', async () => {
    const registered = await api(0).register('web', 'w1', { port: 9001 });
    assert.equal(registered.status, 201);

    const seen = await waitFor(async () => {
      const listed = await api(1).instances('web');
      return listed.body.length === 1 ? listed : undefined;
    }, { what: 'web/w1 at node-b' });
    assert.equal(seen.body[0].id, 'w1');
    assert.equal(seen.body[0].status, 'passing');
    assert.deepEqual(await srvTargets(nodes[1]!, 'web.service.beacon.internal'), [9001]);
    const [overTcp] = await tcpExchange(nodes[1]!.dnsPort, [queryPacket('web.service.beacon.internal', 'SRV')]);
    assert.equal(parse(overTcp!).answers.length, 1);
  });

  test('both nodes report the same change index for the same content, and a write moves it at both', async () => {
    await api(1).register('api', 'a1', { port: 9100 });
    const at = async (i: number) => Number((await api(i).instances('api')).headers.get('x-beacon-index'));
    const indexB = await at(1);
    await waitFor(async () => (await at(0)) === indexB, { what: `node-a reaching index ${indexB}` });

    await api(0).put('/v1/services/api/instances/a1/maintenance', { enabled: true, reason: 'upgrade' });
    const afterA = await at(0);
    const afterB = await waitFor(async () => ((await at(1)) === afterA ? afterA : undefined), { what: `node-b reaching index ${afterA}` });

    assert.ok(afterA > indexB, `${afterA} > ${indexB}`);
    assert.equal(afterB, afterA);
    assert.equal((await api(1).instances('api')).body[0].status, 'maintenance');
  });

  test('a blocking query at one node is released by a write at the other', async () => {
    const index = Number((await api(1).instances('web')).headers.get('x-beacon-index'));
    const blocked = api(1).get(`/v1/services/web/instances?index=${index}&wait=30s`);
    await waitFor(async () => Number((await (await fetch(`${nodes[1]!.url}/metrics`)).text()).match(/^beacon_blocking_queries (\d+)/m)?.[1]) === 1, { what: 'the query parked at node-b' });

    await api(0).register('web', 'w2', { port: 9002 });
    const released = await blocked;

    assert.deepEqual(released.body.map((instance: { id: string }) => instance.id), ['w1', 'w2']);
    assert.ok(Number(released.headers.get('x-beacon-index')) > index);
  });

  test('a traffic policy set at one node releases a blocking read at the other, which then serves it; removed likewise', async () => {
    const policy = { balancing: 'least-request', split: [{ tag: 'v1', weight: 90 }, { tag: 'v2', weight: 10 }] };
    const missing = await api(1).get('/v1/services/shop/policy');
    assert.equal(missing.status, 404);
    const index = Number(missing.headers.get('x-beacon-index'));
    const blocked = api(1).get(`/v1/services/shop/policy?index=${index}&wait=30s`);
    await waitFor(async () => Number((await (await fetch(`${nodes[1]!.url}/metrics`)).text()).match(/^beacon_blocking_queries (\d+)/m)?.[1]) === 1, { what: 'the policy read parked at node-b' });

    assert.equal((await api(0).put('/v1/services/shop/policy', policy)).status, 201);
    const released = await blocked;

    assert.equal(released.status, 200);
    assert.deepEqual(released.body, policy);
    const setAt = Number(released.headers.get('x-beacon-index'));
    assert.ok(setAt > index);
    assert.equal(Number((await api(0).get('/v1/services/shop/policy')).headers.get('x-beacon-index')), setAt);

    assert.equal((await api(1).delete('/v1/services/shop/policy')).status, 204);
    await waitFor(async () => (await api(0).get('/v1/services/shop/policy')).status === 404, { what: 'the policy gone at node-a' });
  });

  test('a deregistration at one node is gone from the other', async () => {
    assert.equal((await api(1).delete('/v1/services/web/instances/w2')).status, 204);
    await waitFor(async () => (await api(0).instances('web')).body.length === 1, { what: 'w2 gone at node-a' });
    assert.deepEqual(await srvTargets(nodes[0]!, 'web.service.beacon.internal'), [9001]);
  });

  test('GET /v1/cluster at either node lists both nodes; reads carry X-Beacon-Last-Contact; /readyz is 200', async () => {
    const views = await Promise.all([0, 1].map(async (i) => (await api(i).get('/v1/cluster')).body));
    const read = await api(0).instances('web');
    const ready = await fetch(`${nodes[1]!.url}/readyz`);

    for (const [i, view] of views.entries()) {
      assert.equal(view.store, 'etcd');
      assert.equal(view.node, ['node-a', 'node-b'][i]);
      assert.deepEqual(view.nodes.map(({ startedAt, ...node }: { startedAt: string }) => node), [
        { name: 'node-a', http: nodes[0]!.url, live: true },
        { name: 'node-b', http: nodes[1]!.url, live: true },
      ]);
      for (const node of view.nodes) assert.ok(Date.parse(node.startedAt) >= nodesStartedFrom, `${node.name} started at ${node.startedAt}, after the test started it`);
    }
    assert.match(read.headers.get('x-beacon-last-contact') ?? '', /^\d+$/);
    assert.equal(ready.status, 200);
  });

  test('heartbeats round-robined over the nodes keep an instance passing; when they stop it expires once', async () => {
    assert.equal((await api(0).register('ttl', 't1', { ttl: 2, port: 9300 })).status, 201);
    await waitFor(async () => (await api(1).instances('ttl')).body.length === 1, { what: 'ttl/t1 at node-b' });
    // 4 s of heartbeats (twice the TTL), each at the other node than the last.
    let lastHeartbeat = 0;
    for (let beat = 0, until = Date.now() + 4_000; Date.now() < until; beat++) {
      const answer = await api(beat % 2).heartbeat('ttl', 't1');
      lastHeartbeat = Date.now();
      assert.equal(answer.status, 200);
      const statuses = await Promise.all([0, 1].map(async (i) => (await api(i).instances('ttl')).body[0]?.status));
      assert.deepEqual(statuses, ['passing', 'passing'], `still passing at both nodes after beat ${beat}`);
      await waitFor(() => Date.now() - lastHeartbeat >= 500, { what: 'the next heartbeat time', intervalMs: 25 });
    }

    await waitFor(async () => (await api(0).instances('ttl')).body[0]?.status === 'critical', { what: 'ttl/t1 critical at node-a' });
    const criticalAfterMs = Date.now() - lastHeartbeat;
    await waitFor(async () => (await api(1).instances('ttl')).body[0]?.status === 'critical', { what: 'ttl/t1 critical at node-b' });
    const expirations = await Promise.all(nodes.map(async (node) => Number((await (await fetch(`${node.url}/metrics`)).text()).match(/^beacon_expirations_total (\S+)$/m)?.[1])));

    assert.ok(criticalAfterMs >= 2_000, `never earlier than the TTL: critical ${criticalAfterMs} ms after the last heartbeat`);
    assert.equal(expirations[0]! + expirations[1]!, 1, `one expiry across the nodes: ${expirations}`);
  });

  test('a second node with a live node\'s name is refused with a clear error', async () => {
    const refused = await runServerExpectingExit(['--http-port', '0', '--dns-port', '0', '--etcd', etcd.clientUrls.join(','), '--etcd-prefix', `/beacon-${process.pid}/`, '--node-name', 'node-a']);
    assert.equal(refused.code, 1);
    assert.match(refused.stderr + refused.stdout, /--node-name node-a: a live node of this cluster already has that name/);
  });
});

test('--etcd and --db together is a one-line configuration error', async () => {
  const result = await runServerExpectingExit(['--etcd', 'http://127.0.0.1:2379', '--db', './x.db']);
  assert.equal(result.code, 2);
  assert.match(result.stderr, /--etcd and --db are two different stores/);
});
