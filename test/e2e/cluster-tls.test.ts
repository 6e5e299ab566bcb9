import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { type CertificateFiles, createThrowawayCa, type ThrowawayCa } from '../../clients/tls/openssl-ca.js';
import { EtcdClient } from '../../server/store/etcd/etcd-client.js';
import { parse, queryPacket, udpExchange } from '../support/dns.js';
import { type EtcdCluster, startEtcdCluster } from '../support/etcd-cluster.js';
import { waitFor } from '../support/events.js';
import { client } from '../support/http.js';
import { runBeacon, runServerExpectingExit, type ServerProcess, startServerProcess } from '../support/server-process.js';

/**
 * Beacon over an etcd that speaks only TLS on its client URLs and requires a client certificate
 * (`--client-cert-auth`): real `beacon server` processes, a real 3-member etcd on loopback,
 * certificates from a throwaway CA made for this run.
 */
describe('beacon server --etcd https://... with --etcd-ca, --etcd-cert, --etcd-key', () => {
  let dir: string;
  let ca: ThrowawayCa;
  let beaconCert: CertificateFiles;
  let strangerCert: CertificateFiles;
  let otherCaCert: string;
  let etcd: EtcdCluster;
  const nodes: ServerProcess[] = [];
  const prefix = `/beacon-tls-${process.pid}/`;
  const urls = () => etcd.clientUrls.join(',');
  const tlsFlags = () => ['--etcd-ca', ca.caCert, '--etcd-cert', beaconCert.cert, '--etcd-key', beaconCert.key];

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'beacon-cluster-tls-'));
    ca = await createThrowawayCa(join(dir, 'ca'));
    const other = await createThrowawayCa(join(dir, 'other'), 'Another CA');
    otherCaCert = other.caCert;
    beaconCert = await ca.issue('beacon', { usage: 'client' });
    strangerCert = await other.issue('stranger', { usage: 'client' });
    etcd = await startEtcdCluster({ tls: ca });
    await etcd.leader(); // the helper's own calls (etcd's JSON gateway) work over TLS too
  });
  after(async () => {
    await Promise.all(nodes.map((node) => node.stop()));
    await etcd?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  test('two nodes with the CA and a client certificate (flags at one, BEACON_ETCD_* variables at the other): a registration at one is answered at the other over HTTP and DNS', async () => {
    nodes.push(await startServerProcess(['--etcd', urls(), '--etcd-prefix', prefix, '--node-name', 'tls-a', ...tlsFlags()]));
    nodes.push(
      await startServerProcess(['--etcd', urls(), '--etcd-prefix', prefix, '--node-name', 'tls-b'], {
        BEACON_ETCD_CA: ca.caCert,
        BEACON_ETCD_CERT: beaconCert.cert,
        BEACON_ETCD_KEY: beaconCert.key,
      }),
    );

    assert.equal((await client(nodes[0]!.url).register('web', 'w1', { port: 9001 })).status, 201);

    const seen = await waitFor(async () => {
      const listed = await client(nodes[1]!.url).instances('web');
      return listed.body.length === 1 ? listed.body : undefined;
    }, { what: 'web/w1 at tls-b' });
    const answer = await udpExchange(nodes[1]!.dnsPort, queryPacket('web.service.beacon.internal', 'SRV'));
    const ports = answer ? parse(answer).answers.map((record) => (record as unknown as { port: number }).port) : [];
    const cluster = (await client(nodes[1]!.url).get('/v1/cluster')).body;

    assert.equal(seen[0].id, 'w1');
    assert.deepEqual(ports, [9001]);
    assert.deepEqual(cluster.nodes.map((node: { name: string }) => node.name), ['tls-a', 'tls-b']);
  });

  test("without --etcd-ca, etcd's certificate is checked against gRPC's default CAs (here the file GRPC_DEFAULT_SSL_ROOTS_FILE_PATH names)", async () => {
    const node = await startServerProcess(['--etcd', urls(), '--etcd-prefix', prefix, '--node-name', 'tls-default-ca', '--etcd-cert', beaconCert.cert, '--etcd-key', beaconCert.key], {
      GRPC_DEFAULT_SSL_ROOTS_FILE_PATH: ca.caCert,
    });
    nodes.push(node);

    const listed = await client(node.url).instances('web');

    assert.deepEqual(listed.body.map((instance: { id: string }) => instance.id), ['w1']);
  });

  test('a node without a client certificate does not start: exit 1, saying etcd refused its certificate in the TLS handshake', async () => {
    const refused = await runServerExpectingExit(['--http-port', '0', '--dns-port', '0', '--etcd', urls(), '--etcd-prefix', prefix, '--node-name', 'no-cert', '--etcd-ca', ca.caCert]);

    assert.equal(refused.code, 1, refused.stderr);
    assert.match(refused.stderr, /^beacon server: cannot join the cluster in etcd at https:\/\/.*TLS handshake failed: etcd refused this client's certificate/m);
  });

  test('a node whose client certificate comes from another CA does not start: exit 1, the same reason', async () => {
    const refused = await runServerExpectingExit([
      '--http-port', '0', '--dns-port', '0', '--etcd', urls(), '--etcd-prefix', prefix, '--node-name', 'stranger',
      '--etcd-ca', ca.caCert, '--etcd-cert', strangerCert.cert, '--etcd-key', strangerCert.key,
    ]);

    assert.equal(refused.code, 1, refused.stderr);
    assert.match(refused.stderr, /TLS handshake failed: etcd refused this client's certificate/);
  });

  test("a node that does not trust etcd's CA does not start: exit 1, saying etcd's certificate is not trusted", async () => {
    const refused = await runServerExpectingExit([
      '--http-port', '0', '--dns-port', '0', '--etcd', urls(), '--etcd-prefix', prefix, '--node-name', 'distrust',
      '--etcd-ca', otherCaCert, '--etcd-cert', beaconCert.cert, '--etcd-key', beaconCert.key,
    ]);

    assert.equal(refused.code, 1, refused.stderr);
    assert.match(refused.stderr, /TLS handshake failed: etcd's certificate is not trusted \(unable to verify the first certificate\)/);
  });

  test('beacon store copy --to-etcd with the TLS flags copies a single node\'s file into the TLS etcd; without a client certificate it exits 3 naming the handshake', async () => {
    const file = join(dir, 'single.db');
    const single = await startServerProcess(['--db', file]);
    assert.equal((await client(single.url).register('billing', 'b1', { port: 9500 })).status, 201);
    assert.equal(await single.stop(), 0);
    const copyPrefix = `/beacon-tls-copy-${process.pid}/`;

    const refused = await runBeacon(['store', 'copy', '--from', file, '--to-etcd', urls(), '--etcd-prefix', copyPrefix, '--etcd-ca', ca.caCert]);
    const copied = await runBeacon(['store', 'copy', '--from', file, '--to-etcd', urls(), '--etcd-prefix', copyPrefix, ...tlsFlags()]);
    const reader = new EtcdClient({ endpoints: etcd.clientUrls, tls: { ca: readFileSync(ca.caCert), cert: readFileSync(beaconCert.cert), key: readFileSync(beaconCert.key) } });
    const keys = await reader.get(`${copyPrefix}instances/`).finally(() => reader.close());

    assert.equal(refused.code, 3, refused.stderr);
    assert.match(refused.stderr, /TLS handshake failed: etcd refused this client's certificate/);
    assert.equal(copied.code, 0, copied.stderr);
    assert.equal(copied.stdout, 'copied 1, already there 0, different 0\n');
    assert.deepEqual(keys.kvs.map((kv) => kv.key), [`${copyPrefix}instances/billing/b1`]);
  });
});

// The other refusals are unit-tested (test/server/etcd-tls-flags.test.ts); these two prove the exit code and the one line.
describe('the etcd TLS flags are checked against the etcd URLs at start', () => {
  const cases: [string, string[], RegExp][] = [
    ['--etcd-ca with http:// URLs', ['--etcd', 'http://127.0.0.1:2379', '--etcd-ca', '/nonexistent/ca.crt'], /--etcd-ca needs https:\/\/ etcd URLs \(TLS\); --etcd has http:\/\/127\.0\.0\.1:2379/],
    ['an --etcd-ca file that does not exist', ['--etcd', 'https://127.0.0.1:2379', '--etcd-ca', '/nonexistent/ca.crt'], /--etcd-ca \/nonexistent\/ca\.crt: cannot read it \(ENOENT\)/],
  ];
  for (const [name, args, message] of cases) {
    test(`${name}: one line on stderr, exit 2`, async () => {
      const result = await runServerExpectingExit(args);

      assert.equal(result.code, 2);
      assert.match(result.stderr, message);
      assert.equal(result.stderr.trim().split('\n').length, 1, result.stderr);
    });
  }
});
