import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { EtcdClient } from '../../server/store/etcd/etcd-client.js';
import { createToken, withToken } from '../support/acl-http.js';
import { parse, queryPacket, udpExchange } from '../support/dns.js';
import { type EtcdCluster, startEtcdCluster } from '../support/etcd-cluster.js';
import { waitFor } from '../support/events.js';
import { client } from '../support/http.js';
import { blockedQueriesReach } from '../support/metrics.js';
import { runBeacon, type ServerProcess, startServerProcess } from '../support/server-process.js';

const BOOTSTRAP = 'store-copy-bootstrap-secret';

/** What the API shows of an instance that a copy must keep (the liveness times move on). */
function durable({ lastHeartbeatAt: _heartbeat, expiresAt: _expires, ...rest }: Record<string, unknown>) {
  return rest;
}

/** `beacon store copy`: a real single node's file, copied into a real 3-member etcd, served by real cluster nodes. */
describe('beacon store copy --from FILE --to-etcd URLS', () => {
  let etcd: EtcdCluster;
  let dir: string;
  let file: string;
  /** A traffic policy, copied with the instances (fields in the schema's order, as GET answers). */
const WEB_POLICY = { balancing: 'least-request', split: [{ tag: 'v1', weight: 9 }, { tag: 'blue', weight: 1 }] };

const prefix = `/beacon-copy-${process.pid}/`;
  const nodes: ServerProcess[] = [];
  const single: { web: unknown[]; api: unknown[]; tokens: unknown[]; deployer: string; reader: string } = { web: [], api: [], tokens: [], deployer: '', reader: '' };
  const copy = (...args: string[]) => runBeacon(['store', 'copy', '--to-etcd', etcd.clientUrls.join(','), ...args]);
  const revision = async (ofPrefix: string) => {
    const etcdClient = new EtcdClient({ endpoints: etcd.clientUrls });
    try {
      return (await etcdClient.get(ofPrefix)).revision;
    } finally {
      await etcdClient.close();
    }
  };

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'beacon-store-copy-'));
    file = join(dir, 'beacon.db');
    const server = await startServerProcess(['--db', file, '--acl', '--acl-bootstrap-token', BOOTSTRAP]);
    const call = (method: string, path: string, body?: unknown) => withToken(server.url, BOOTSTRAP, method, path, body);
    await call('PUT', '/v1/services/web/instances/w1', { address: '127.0.0.1', port: 9001, weight: 5, tags: ['v1', 'blue'], meta: { zone: 'a' }, ttl: 300 });
    await call('PUT', '/v1/services/web/instances/w2', { address: '127.0.0.1', port: 9002, ttl: 300 });
    await call('PUT', '/v1/services/web/instances/w2/maintenance', { enabled: true, reason: 'upgrade' });
    await call('PUT', '/v1/services/api/instances/a1', { address: '127.0.0.2', port: 9100, ttl: 300, deregisterAfter: 600 });
    await call('PUT', '/v1/services/api/instances/a1/heartbeat', { status: 'warning', output: 'slow disk' });
    assert.equal((await call('PUT', '/v1/services/web/policy', WEB_POLICY)).status, 201);
    single.deployer = (await createToken(server.url, BOOTSTRAP, { kind: 'service', services: ['web'], description: 'deployer' })).secret;
    single.reader = (await createToken(server.url, BOOTSTRAP, { kind: 'read', description: 'dashboards' })).secret;
    single.web = (await call('GET', '/v1/services/web/instances')).body;
    single.api = (await call('GET', '/v1/services/api/instances')).body;
    single.tokens = (await call('GET', '/v1/acl/tokens')).body;
    assert.equal(await server.stop(), 0);
    etcd = await startEtcdCluster();
  });
  after(async () => {
    await Promise.all(nodes.map((node) => node.stop('SIGKILL')));
    await etcd?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  test('the first copy writes every instance, policy and token; a node started on it serves them with the same fields over HTTP and DNS', async () => {
    const copied = await copy('--from', file, '--etcd-prefix', prefix);
    assert.equal(copied.code, 0, copied.stderr);
    assert.equal(copied.stdout, 'copied 7, already there 0, different 0\n');

    // --acl without a bootstrap secret: it starts only if the copied management token is there.
    nodes.push(await startServerProcess(['--etcd', etcd.clientUrls.join(','), '--etcd-prefix', prefix, '--node-name', 'copy-a', '--acl']));
    const node = nodes[0]!.url;
    const web = (await withToken(node, BOOTSTRAP, 'GET', '/v1/services/web/instances')).body;
    const api = (await withToken(node, BOOTSTRAP, 'GET', '/v1/services/api/instances')).body;
    const tokens = (await withToken(node, BOOTSTRAP, 'GET', '/v1/acl/tokens')).body;
    assert.deepEqual((await withToken(node, BOOTSTRAP, 'GET', '/v1/services/web/policy')).body, WEB_POLICY);
    const srv = await udpExchange(nodes[0]!.dnsPort, queryPacket('web.service.beacon.internal', 'SRV'));

    assert.deepEqual(web.map(durable), (single.web as Record<string, unknown>[]).map(durable));
    assert.deepEqual(api.map(durable), (single.api as Record<string, unknown>[]).map(durable));
    assert.deepEqual(web.map((instance: { status: string }) => instance.status), ['passing', 'maintenance']);
    assert.equal(api[0].status, 'warning');
    assert.deepEqual(tokens, single.tokens);
    assert.deepEqual(parse(srv!).answers.map((record) => (record as unknown as { port: number }).port), [9001]);
    assert.equal((await withToken(node, single.deployer, 'PUT', '/v1/services/web/instances/w3', { address: '127.0.0.1', port: 9003 })).status, 201);
    assert.equal((await withToken(node, single.deployer, 'PUT', '/v1/services/api/instances/a2', { address: '127.0.0.1', port: 9101 })).status, 403);
    assert.equal((await withToken(node, single.reader, 'GET', '/v1/services')).status, 200);
  });

  test("a second copy of the same file changes nothing: etcd's revision stays where it was", async () => {
    const revisionBefore = await revision(prefix);

    const again = await copy('--from', file, '--etcd-prefix', prefix);

    assert.equal(again.code, 0, again.stderr);
    assert.equal(again.stdout, 'copied 0, already there 7, different 0\n');
    assert.equal(await revision(prefix), revisionBefore);
  });

  test('a record etcd holds differently is named and nothing is copied; --overwrite replaces it and moves the index', async () => {
    const node = nodes[0]!.url;
    assert.equal((await withToken(node, BOOTSTRAP, 'PUT', '/v1/services/web/instances/w1', { address: '127.0.0.1', port: 9999, ttl: 300 })).status, 200);
    const revisionBefore = await revision(prefix);
    const indexBefore = Number((await withToken(node, BOOTSTRAP, 'GET', '/v1/services/web/instances')).headers.get('x-beacon-index'));

    const refused = await copy('--from', file, '--etcd-prefix', prefix);
    const revisionRefused = await revision(prefix);
    const overwritten = await copy('--from', file, '--etcd-prefix', prefix, '--overwrite');

    assert.equal(refused.code, 1);
    assert.equal(refused.stdout, 'copied 0, already there 6, different 1\n');
    assert.match(refused.stderr, new RegExp(`etcd holds 1 records that differ from .*; nothing was copied \\(--overwrite replaces them\\): ${prefix}instances/web/w1\\n$`));
    assert.equal(revisionRefused, revisionBefore);
    assert.equal(overwritten.code, 0, overwritten.stderr);
    assert.equal(overwritten.stdout, 'copied 1, already there 6, different 1 (replaced)\n');
    const w1 = await waitFor(async () => {
      const listed = await withToken(node, BOOTSTRAP, 'GET', '/v1/services/web/instances');
      return listed.body[0].port === 9001 ? listed : undefined;
    }, { what: 'web/w1 back at port 9001 at the node' });
    assert.ok(Number(w1.headers.get('x-beacon-index')) > indexBefore);
  });

  test('instances copied while a node runs wake its blocked queries and get one TTL from the copy, even when their TTL ran out in the file; a node started later reports the same indexes', async () => {
    const shortFile = join(dir, 'short.db');
    const server = await startServerProcess(['--db', shortFile]);
    const registered = (await client(server.url).register('short', 's1', { ttl: 1 })).body;
    await client(server.url).register('steady', 't1', { ttl: 300 });
    assert.equal(await server.stop(), 0);
    const shortPrefix = `/beacon-copy-short-${process.pid}/`;
    nodes.push(await startServerProcess(['--etcd', etcd.clientUrls.join(','), '--etcd-prefix', shortPrefix, '--node-name', 'running']));
    const running = nodes[nodes.length - 1]!.url;
    const index = Number((await client(running).instances('short')).headers.get('x-beacon-index'));
    const blocked = client(running).instances('short', `?index=${index}&wait=30s`);
    await blockedQueriesReach(running, 1);
    await waitFor(() => Date.now() > Date.parse(registered.expiresAt), { what: "s1's TTL running out in the file" });

    const copyStarted = Date.now();
    const copied = await copy('--from', shortFile, '--etcd-prefix', shortPrefix);
    const released = await blocked;

    assert.equal(copied.code, 0, copied.stderr);
    assert.equal(copied.stdout, 'copied 2, already there 0, different 0\n');
    assert.deepEqual(released.body.map((instance) => [instance.id, instance.status]), [['s1', 'passing']]);
    assert.ok(Date.parse(released.body[0].expiresAt) >= copyStarted + 1_000, `expires ${released.body[0].expiresAt}, one TTL after the copy started at ${new Date(copyStarted).toISOString()}`);
    nodes.push(await startServerProcess(['--etcd', etcd.clientUrls.join(','), '--etcd-prefix', shortPrefix, '--node-name', 'later']));
    const later = nodes[nodes.length - 1]!.url;
    // steady/t1 changes no more after the copy: a node started later reads its index from the
    // index/steady marker the copy wrote, and agrees with the node that applied the copy.
    const indexAt = async (url: string) => Number((await client(url).instances('steady')).headers.get('x-beacon-index'));
    assert.equal(await indexAt(later), await indexAt(running));
  });
});

test('beacon store copy with a --from file that does not exist: one line, exit code 2', async () => {
  const result = await runBeacon(['store', 'copy', '--from', '/nonexistent/beacon.db', '--to-etcd', 'http://127.0.0.1:2379']);

  assert.equal(result.code, 2);
  assert.equal(result.stderr, "beacon store copy: /nonexistent/beacon.db: no such file (give the registry's SQLite file, --db of beacon server)\n");
  assert.equal(result.stdout, '');
});

test('beacon store copy --help lists its flags; beacon store without a subcommand exits 2', async () => {
  const [help, bare] = await Promise.all([runBeacon(['store', 'copy', '--help']), runBeacon(['store'])]);

  assert.equal(help.code, 0);
  for (const flag of ['--from', '--to-etcd', '--etcd-prefix', '--etcd-ca', '--etcd-cert', '--etcd-key', '--overwrite']) assert.match(help.stdout, new RegExp(`\\n {2}${flag} +\\S`), flag);
  assert.deepEqual([bare.code, bare.stderr], [2, 'beacon store: a subcommand is required (subcommands: copy; see beacon store --help)\n']);
});
