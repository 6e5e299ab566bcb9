import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { EtcdClient } from '../../server/store/etcd/etcd-client.js';
import { createToken, withToken } from '../support/acl-http.js';
import { type EtcdCluster, startEtcdCluster } from '../support/etcd-cluster.js';
import { waitFor } from '../support/events.js';
import { scrape } from '../support/metrics.js';
import { type ServerProcess, startServerProcess } from '../support/server-process.js';

const BOOTSTRAP = 'cluster-bootstrap-secret-for-tests';
const registration = { address: '127.0.0.1', port: 8080, ttl: 300 };

/** ACL tokens kept in etcd: real `beacon server --acl --etcd` processes over a real 3-member etcd. */
describe('beacon server --acl --etcd: tokens shared by the nodes', () => {
  let etcd: EtcdCluster;
  const prefix = `/beacon-acl-${process.pid}/`;
  const nodes: ServerProcess[] = [];
  const url = (i: number) => nodes[i]!.url;
  // node-b talks to member 2 only, so stopping that member cuts node-b off while node-a writes.
  const nodeArgs = (name: string, endpoints: string[], ...acl: string[]) => ['--etcd', endpoints.join(','), '--etcd-prefix', prefix, '--node-name', name, '--acl', ...acl];
  const works = async (i: number, secret: string) => (await withToken(url(i), secret, 'GET', '/v1/services')).status === 200;
  const refused = async (i: number, secret: string) => (await withToken(url(i), secret, 'GET', '/v1/services')).status === 401;

  before(async () => {
    etcd = await startEtcdCluster();
    // Started together, with the same bootstrap secret: both install it, neither undoes the other.
    nodes.push(
      ...(await Promise.all([
        startServerProcess(nodeArgs('node-a', etcd.clientUrls, '--acl-bootstrap-token', BOOTSTRAP)),
        startServerProcess(nodeArgs('node-b', [etcd.clientUrls[2]!], '--acl-bootstrap-token', BOOTSTRAP)),
      ])),
    );
  });
  after(async () => {
    nodes[1]?.child.kill('SIGCONT');
    await Promise.all(nodes.map((node) => node.stop('SIGKILL')));
    await etcd?.stop();
  });

  test('the bootstrap token both nodes were started with works at both, and there is one of it', async () => {
    const listings = await Promise.all([0, 1].map((i) => withToken(url(i), BOOTSTRAP, 'GET', '/v1/acl/tokens')));

    for (const listing of listings) {
      assert.equal(listing.status, 200);
      assert.deepEqual(listing.body.filter((token: { id: string }) => token.id === 'bootstrap').map((token: { kind: string }) => token.kind), ['management']);
    }
  });

  test('a token created at node-a works at node-b, which lists it', async () => {
    const { id, secret } = await createToken(url(0), BOOTSTRAP, { kind: 'read', description: 'made at a' });

    await waitFor(() => works(1, secret), { what: 'the new token accepted at node-b' });
    const listed = await withToken(url(1), BOOTSTRAP, 'GET', '/v1/acl/tokens');
    assert.deepEqual(listed.body.filter((token: { id: string }) => token.id === id).map((token: { description: string }) => token.description), ['made at a']);
  });

  test("a service token's scope is enforced at node-b", async () => {
    const { id, secret } = await createToken(url(0), BOOTSTRAP, { kind: 'service', services: ['web'] });
    await waitFor(() => works(1, secret), { what: 'the service token accepted at node-b' });

    const own = await withToken(url(1), secret, 'PUT', '/v1/services/web/instances/w1', registration);
    const other = await withToken(url(1), secret, 'PUT', '/v1/services/api/instances/a1', registration);

    assert.equal(own.status, 201);
    assert.equal(other.status, 403);
    assert.equal(other.body.message, `token ${id} (service) may write only "web": writing service "api" needs a management token or a service token listing it`);
  });

  test('a token revoked at node-a is refused there in the wake of the answer, and at node-b once its watch applies it', async () => {
    const { id, secret } = await createToken(url(0), BOOTSTRAP, { kind: 'read' });
    await waitFor(() => works(1, secret), { what: 'the token accepted at node-b' });

    const revoked = await withToken(url(0), BOOTSTRAP, 'DELETE', `/v1/acl/tokens/${id}`);
    const atA = await withToken(url(0), secret, 'GET', '/v1/services');

    assert.equal(revoked.status, 204);
    assert.equal(atA.status, 401);
    await waitFor(() => refused(1, secret), { what: 'the revoked token refused at node-b' });
  });

  test('a token revoked while node-b was cut off and etcd compacted is dropped when node-b lists again', async () => {
    const kept = await createToken(url(0), BOOTSTRAP, { kind: 'read' });
    const doomed = await createToken(url(0), BOOTSTRAP, { kind: 'read' });
    await waitFor(async () => (await works(1, kept.secret)) && works(1, doomed.secret), { what: 'both tokens accepted at node-b' });

    nodes[1]!.child.kill('SIGSTOP');
    await etcd.member(2).stop();
    assert.equal((await withToken(url(0), BOOTSTRAP, 'DELETE', `/v1/acl/tokens/${doomed.id}`)).status, 204);
    const added = await createToken(url(0), BOOTSTRAP, { kind: 'read' });
    const etcdClient = new EtcdClient({ endpoints: etcd.clientUrls.slice(0, 2) });
    const { revision } = await etcdClient.get(prefix);
    await etcd.compact(revision);
    await etcdClient.close();
    await etcd.member(2).start();
    nodes[1]!.child.kill('SIGCONT');

    await waitFor(async () => (await refused(1, doomed.secret)) && works(1, added.secret), { what: 'node-b dropping the revoked token and taking the new one', timeoutMs: 20_000 });
    assert.ok(await works(1, kept.secret), 'the token kept is still accepted');
    assert.ok(((await scrape(url(1), 'beacon_etcd_relists_total')).get('') ?? 0) >= 1, 'node-b listed the registry again');
  });

  test('tokens survive a restart: node-b started again without the bootstrap secret loads them from etcd', async () => {
    const { secret } = await createToken(url(0), BOOTSTRAP, { kind: 'read' });
    await waitFor(() => works(1, secret), { what: 'the token accepted at node-b' });

    assert.equal(await nodes[1]!.stop(), 0);
    nodes[1] = await startServerProcess(nodeArgs('node-b', etcd.clientUrls));

    assert.ok(await works(1, secret), 'a token made before the restart');
    assert.ok(await works(1, BOOTSTRAP), 'the bootstrap token');
  });

  test('a token write etcd cannot commit is a 503 with Retry-After, never a 500', async () => {
    await Promise.all(etcd.members.map((member) => member.pause()));
    try {
      const created = await withToken(url(0), BOOTSTRAP, 'POST', '/v1/acl/tokens', { kind: 'read' });
      const revoked = await withToken(url(0), BOOTSTRAP, 'DELETE', '/v1/acl/tokens/bootstrap');

      for (const answer of [created, revoked]) {
        assert.equal(answer.status, 503, JSON.stringify(answer.body));
        assert.equal(answer.headers.get('retry-after'), '1');
        assert.match(answer.body.message, /the token could not be stored/);
      }
    } finally {
      await Promise.all(etcd.members.map((member) => member.resume()));
    }
    await etcd.waitHealthy();
    await waitFor(() => works(0, BOOTSTRAP), { what: 'node-a answering with the bootstrap token after etcd came back' });
  });
});
