import assert from 'node:assert/strict';
import { once } from 'node:events';
import { readFile } from 'node:fs/promises';
import { createServer as createHttpServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import { createServer as createTlsServer } from 'node:tls';
import { after, before, describe, it } from 'node:test';
import pino from 'pino';
import { createPolicy } from '../../../clients/balancing/policy.js';
import { ProxyMetrics } from '../../../clients/proxy/proxy-metrics.js';
import { loggedTlsWatcher, tlsFailureReason, UpstreamTls, type UpstreamTlsWatcher } from '../../../clients/proxy/upstream-tls.js';
import { createThrowawayCa, type ThrowawayCa } from '../../../clients/tls/openssl-ca.js';
import { type Upstream, UpstreamPool } from '../../../clients/upstream/upstream-pool.js';
import { metricValue } from '../../support/forwarder-harness.js';
import { tempDir } from '../../support/temp.js';

function poolOf(...addresses: { id: string; port: number; tlsServerName?: string }[]): UpstreamPool {
  const pool = new UpstreamPool({ policy: createPolicy<Upstream>('weighted-round-robin') });
  pool.update(addresses.map((address) => ({ address: '127.0.0.1', weight: 1, ...address })));
  return pool;
}

/** What a watcher was told, in order. */
function recordingWatcher(): UpstreamTlsWatcher & { told: string[] } {
  const told: string[] = [];
  return {
    told,
    failed: (upstream, _error, reason) => told.push(`${upstream.id} failed ${reason}`),
    verified: (upstream) => told.push(`${upstream.id} verified`),
  };
}

describe('tlsFailureReason', () => {
  it('names a certificate check by its code, any other failed handshake `handshake`, and nothing else', () => {
    assert.equal(tlsFailureReason('UNABLE_TO_VERIFY_LEAF_SIGNATURE'), 'UNABLE_TO_VERIFY_LEAF_SIGNATURE');
    assert.equal(tlsFailureReason('ERR_TLS_CERT_ALTNAME_INVALID'), 'ERR_TLS_CERT_ALTNAME_INVALID');
    assert.equal(tlsFailureReason('CERT_HAS_EXPIRED'), 'CERT_HAS_EXPIRED');
    assert.equal(tlsFailureReason('ERR_SSL_WRONG_VERSION_NUMBER'), 'handshake');
    assert.equal(tlsFailureReason('ECONNREFUSED'), undefined);
    assert.equal(tlsFailureReason('UND_ERR_SOCKET'), undefined);
    assert.equal(tlsFailureReason(undefined), undefined);
  });
});

describe('UpstreamTls.connect (TCP mode and upgrades)', () => {
  const dir = tempDir({ after }, 'beacon-upstream-tls-');
  let ca: ThrowawayCa;
  let caPem: Buffer;

  before(async () => {
    ca = await createThrowawayCa(`${dir}/ca`);
    caPem = await readFile(ca.caCert);
  });

  async function tlsServer(altNames: string[]): Promise<number> {
    const files = await ca.issue('instance', { altNames, usage: 'server' });
    const server = createTlsServer({ cert: await readFile(files.cert), key: await readFile(files.key) }, (socket) => socket.end('hello'));
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    after(() => server.close());
    return (server.address() as AddressInfo).port;
  }

  it('checks the registered tls-server-name when there is one, else the address', async () => {
    const byName = await tlsServer(['DNS:web.internal']);
    const byAddress = await tlsServer(['IP:127.0.0.1']);
    const watcher = recordingWatcher();
    const tls = new UpstreamTls({ ca: caPem }, watcher);
    const [named, unnamed, addressed] = poolOf({ id: 'named', port: byName, tlsServerName: 'web.internal' }, { id: 'unnamed', port: byName }, { id: 'addressed', port: byAddress }).members;

    const sockets = [await tls.connect(named!, 5000, false), await tls.connect(unnamed!, 5000, false), await tls.connect(addressed!, 5000, false)];
    for (const socket of sockets) socket?.destroy();

    assert.deepEqual(sockets.map((socket) => socket !== undefined), [true, false, true]);
    assert.deepEqual(watcher.told, ['named verified', 'unnamed failed ERR_TLS_CERT_ALTNAME_INVALID', 'addressed verified']);
  });

  it('fails an instance that speaks plain HTTP as a `handshake` failure', async () => {
    const plain = createHttpServer((_request, response) => response.end());
    plain.listen(0, '127.0.0.1');
    await once(plain, 'listening');
    after(() => plain.close());
    const watcher = recordingWatcher();
    const [upstream] = poolOf({ id: 'plain', port: (plain.address() as AddressInfo).port }).members;

    const socket = await new UpstreamTls({ ca: caPem }, watcher).connect(upstream!, 5000, false);

    assert.equal(socket, undefined);
    assert.deepEqual(watcher.told, ['plain failed handshake']);
  });
});

describe('loggedTlsWatcher', () => {
  it('counts every failure by instance and reason, and logs once per instance per change of reason', async () => {
    const lines: { level: number; msg: string; instance: string; reason?: string }[] = [];
    const sink = new Writable({
      write(chunk, _encoding, callback) {
        lines.push(JSON.parse(String(chunk)));
        callback();
      },
    });
    const pool = poolOf({ id: 'a', port: 1 }, { id: 'b', port: 2 });
    const [a, b] = pool.members;
    const metrics = new ProxyMetrics({ pool, registryReachable: () => true });
    const watcher = loggedTlsWatcher(metrics, pino(sink));
    const failure = (code: string) => Object.assign(new Error(code), { code });

    for (let i = 0; i < 3; i++) watcher.failed(a!, failure('UNABLE_TO_VERIFY_LEAF_SIGNATURE'), 'UNABLE_TO_VERIFY_LEAF_SIGNATURE');
    watcher.failed(b!, failure('ERR_SSL_WRONG_VERSION_NUMBER'), 'handshake');
    watcher.failed(a!, failure('CERT_HAS_EXPIRED'), 'CERT_HAS_EXPIRED');
    watcher.verified(b!);
    watcher.verified(b!);
    watcher.failed(b!, failure('ERR_SSL_WRONG_VERSION_NUMBER'), 'handshake');

    assert.deepEqual(
      lines.map((line) => `${line.level} ${line.instance} ${line.reason ?? '-'} ${line.msg}`),
      [
        '40 a UNABLE_TO_VERIFY_LEAF_SIGNATURE TLS to instance failed: counted as a connect failure',
        '40 b ERR_SSL_WRONG_VERSION_NUMBER TLS to instance failed: counted as a connect failure',
        '40 a CERT_HAS_EXPIRED TLS to instance failed: counted as a connect failure',
        '30 b - TLS to instance verified again',
        '40 b ERR_SSL_WRONG_VERSION_NUMBER TLS to instance failed: counted as a connect failure',
      ],
    );
    assert.equal(await metricValue(metrics, 'beacon_proxy_tls_failures_total{instance="a",reason="UNABLE_TO_VERIFY_LEAF_SIGNATURE"}'), 3);
    assert.equal(await metricValue(metrics, 'beacon_proxy_tls_failures_total{instance="b",reason="handshake"}'), 2);
  });
});

describe('UpstreamPool and tls-server-name', () => {
  it('starts an instance afresh when its registered server name changes (a new connection pool), and keeps it otherwise', () => {
    const removed: string[] = [];
    const pool = new UpstreamPool({ policy: createPolicy<Upstream>('weighted-round-robin'), hooks: { removed: (upstream) => removed.push(`${upstream.id} ${upstream.tlsServerName}`) } });
    pool.update([{ id: 'a', address: '127.0.0.1', port: 1, weight: 1, tlsServerName: 'old.internal' }]);
    const first = pool.members[0];

    pool.update([{ id: 'a', address: '127.0.0.1', port: 1, weight: 2, tlsServerName: 'old.internal' }]);
    const kept = pool.members[0];
    pool.update([{ id: 'a', address: '127.0.0.1', port: 1, weight: 2, tlsServerName: 'new.internal' }]);

    assert.equal(kept, first);
    assert.notEqual(pool.members[0], first);
    assert.equal(pool.members[0]!.tlsServerName, 'new.internal');
    assert.deepEqual(removed, ['a old.internal']);
  });
});
