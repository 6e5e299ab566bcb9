import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { copyFileSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { request } from 'undici';
import type { Agent } from 'undici';
import { type CertificateFiles, createThrowawayCa, type ThrowawayCa } from '../../clients/tls/openssl-ca.js';
import { parse, queryPacket, udpExchange } from '../support/dns.js';
import { waitFor } from '../support/events.js';
import { callJson, httpsAgent, scrapeOver, servedFingerprint, tlsOutcome } from '../support/https-api.js';
import { runServerExpectingExit, type ServerProcess, startServerProcess } from '../support/server-process.js';
import { tempDir } from '../support/temp.js';

const SERVER_NAMES = ['DNS:localhost', 'IP:127.0.0.1'];

function portOf(url: string): number {
  return Number(new URL(url).port);
}

/** A CA, a server certificate for localhost/127.0.0.1 and a client certificate, in a fresh folder. */
async function certificates(dir: string) {
  const ca = await createThrowawayCa(join(dir, 'ca'));
  const server = await ca.issue('registry', { altNames: SERVER_NAMES, usage: 'server' });
  const client = await ca.issue('service', { usage: 'client' });
  return { ca, server, client };
}

describe('HTTP API over HTTPS (--tls-cert, --tls-key)', () => {
  let ca: ThrowawayCa;
  let server: ServerProcess;
  let trusting: Agent;
  const dir = tempDir({ after });

  before(async () => {
    const issued = await certificates(dir);
    ca = issued.ca;
    server = await startServerProcess(['--db', join(dir, 'b.db'), '--tls-cert', issued.server.cert, '--tls-key', issued.server.key]);
    trusting = httpsAgent({ ca: ca.caCert });
  });
  after(async () => {
    await trusting?.close();
    await server?.stop();
  });

  test('the start line shows an https:// address', () => {
    assert.match(server.url, /^https:\/\/127\.0\.0\.1:\d+$/);
    assert.match(server.output(), /"msg":"HTTP API listening on https:\/\/127\.0\.0\.1:\d+"/);
  });

  test('a plaintext HTTP request to the HTTPS port fails', async () => {
    const plain = server.url.replace(/^https:/, 'http:');
    await assert.rejects(request(`${plain}/healthz`), (error: Error & { code?: string }) => ['UND_ERR_SOCKET', 'ECONNRESET', 'UND_ERR_CLOSED'].includes(error.code ?? '') || /other side closed|socket/i.test(error.message));
  });

  test('a client that does not trust the CA cannot connect: the certificate is refused', async () => {
    assert.equal(await tlsOutcome(portOf(server.url), {}), 'UNABLE_TO_VERIFY_LEAF_SIGNATURE');
  });

  test('a client that trusts the CA registers an instance, and DNS (plain, unchanged) answers it', async () => {
    const registered = await callJson(trusting, 'PUT', `${server.url}/v1/services/web/instances/w1`, { address: '10.9.0.1', port: 8080 });
    assert.equal(registered.status, 201);
    assert.equal((await callJson(trusting, 'PUT', `${server.url}/v1/services/web/instances/w1/heartbeat`)).status, 200);

    const answer = await udpExchange(server.dnsPort, queryPacket('web.service.beacon.internal', 'A'));
    assert.ok(answer, 'DNS answered over plain UDP');
    assert.deepEqual(parse(answer).answers.map((record) => (record as { address?: string }).address), ['10.9.0.1']);
  });
});

describe('client certificates (--tls-ca, --tls-verify-clients)', () => {
  let issued: Awaited<ReturnType<typeof certificates>>;
  let stranger: CertificateFiles;
  let server: ServerProcess;
  const dir = tempDir({ after });

  before(async () => {
    issued = await certificates(dir);
    const otherCa = await createThrowawayCa(join(dir, 'other'), 'Another CA');
    stranger = await otherCa.issue('service', { usage: 'client' });
    server = await startServerProcess(['--db', join(dir, 'b.db'), '--tls-cert', issued.server.cert, '--tls-key', issued.server.key, '--tls-ca', issued.ca.caCert, '--tls-verify-clients']);
  });
  after(() => server?.stop());

  test('a client without a certificate is refused at the handshake', async () => {
    assert.equal(await tlsOutcome(portOf(server.url), { ca: issued.ca.caCert }), 'ERR_SSL_TLSV13_ALERT_CERTIFICATE_REQUIRED');
  });

  test('a client with a certificate from another CA is cut at the handshake, before any request is read', async () => {
    // Node checks the chain once the handshake is done and destroys the socket (no alert, no answer).
    assert.match(await tlsOutcome(portOf(server.url), { ca: issued.ca.caCert, identity: stranger }), /^(closed without an answer|ECONNRESET)$/);
  });

  test('a client with a certificate from --tls-ca is served', async () => {
    assert.equal(await tlsOutcome(portOf(server.url), { ca: issued.ca.caCert, identity: issued.client }), 'HTTP/1.1 200 OK');
    const agent = httpsAgent({ ca: issued.ca.caCert, identity: issued.client });
    try {
      assert.equal((await callJson(agent, 'PUT', `${server.url}/v1/services/web/instances/w1`, { address: '10.9.0.2', port: 8080 })).status, 201);
    } finally {
      await agent.close();
    }
  });
});

/**
 * Requests sent one after another until stopped (or `limit` is reached, a bound on a hung
 * test): how many went, and every failure, whatever it was.
 */
function steadyLoad(send: () => Promise<number>, limit = 20_000) {
  const state = { sent: 0, failures: [] as string[], stopped: false };
  const running = (async () => {
    while (!state.stopped && state.sent < limit) {
      try {
        const status = await send();
        if (status !== 200) state.failures.push(`status ${status}`);
      } catch (error) {
        state.failures.push(`${(error as Error & { code?: string }).code ?? ''} ${(error as Error).message}`);
      }
      state.sent += 1;
    }
  })();
  return {
    state,
    async stop() {
      state.stopped = true;
      await running;
    },
  };
}

describe('certificate rotation on SIGHUP', () => {
  const dir = tempDir({ after });
  let ca: ThrowawayCa;
  let server: ServerProcess;
  let scraper: Agent;
  const served = { cert: '', key: '' };

  /** Puts new files where the server reads them, each replaced whole (rename), as an operator's tool would. */
  function install(files: CertificateFiles): void {
    for (const kind of ['cert', 'key'] as const) {
      copyFileSync(files[kind], `${served[kind]}.new`);
      renameSync(`${served[kind]}.new`, served[kind]);
    }
  }

  const reloads = async () => scrapeOver(scraper, server.url, 'beacon_tls_reloads_total');

  before(async () => {
    ca = await createThrowawayCa(join(dir, 'ca'));
    served.cert = join(dir, 'served.crt');
    served.key = join(dir, 'served.key');
    install(await ca.issue('registry', { altNames: SERVER_NAMES, usage: 'server', days: 30 }));
    server = await startServerProcess(['--db', join(dir, 'b.db'), '--tls-cert', served.cert, '--tls-key', served.key]);
    scraper = httpsAgent({ ca: ca.caCert });
    assert.equal((await callJson(scraper, 'PUT', `${server.url}/v1/services/web/instances/w1`, { address: '10.9.0.3', port: 8080 })).status, 201);
  });
  after(async () => {
    await scraper?.close();
    await server?.stop();
  });

  test('under steady load, no request fails across the reload, and new connections get the new certificate', async () => {
    const port = portOf(server.url);
    const before = await servedFingerprint(port, ca.caCert);
    const next = await ca.issue('registry', { altNames: SERVER_NAMES, usage: 'server', days: 10 });
    const nextCert = new X509Certificate(readFileSync(next.cert));

    const kept = httpsAgent({ ca: ca.caCert });
    const fresh = httpsAgent({ ca: ca.caCert });
    const connections = { kept: 0, fresh: 0 };
    kept.on('connect', () => (connections.kept += 1));
    fresh.on('connect', () => (connections.fresh += 1));
    const heartbeat = `${server.url}/v1/services/web/instances/w1/heartbeat`;
    // One connection kept alive through the reload, and a new connection for every request.
    const overKept = steadyLoad(async () => (await callJson(kept, 'PUT', heartbeat)).status);
    const overFresh = steadyLoad(async () => {
      const answer = await request(heartbeat, { method: 'PUT', dispatcher: fresh, reset: true });
      await answer.body.dump();
      return answer.statusCode;
    });
    try {
      await waitFor(() => overKept.state.sent >= 100 && overFresh.state.sent >= 100, { what: '100 requests by each loop before the reload' });

      install(next);
      server.child.kill('SIGHUP');
      await waitFor(async () => (await reloads()).get('{outcome="ok"}') === 1, { what: 'beacon_tls_reloads_total{outcome="ok"} 1' });
      const atReload = { kept: overKept.state.sent, fresh: overFresh.state.sent };
      await waitFor(() => overKept.state.sent >= atReload.kept + 100 && overFresh.state.sent >= atReload.fresh + 100, { what: '100 more requests by each loop after the reload' });
    } finally {
      await Promise.all([overKept.stop(), overFresh.stop()]);
      await Promise.all([kept.close(), fresh.close()]);
    }

    assert.deepEqual([...overKept.state.failures, ...overFresh.state.failures], []);
    assert.equal(connections.kept, 1, 'the kept-alive connection lived through the reload');
    assert.equal(connections.fresh, overFresh.state.sent, 'every request of the other loop opened a connection');
    const after = await servedFingerprint(port, ca.caCert);
    assert.notEqual(after, before);
    assert.equal(after, nextCert.fingerprint256);
    assert.equal((await scrapeOver(scraper, server.url, 'beacon_tls_certificate_expiry_timestamp_seconds')).get(''), Date.parse(nextCert.validTo) / 1000);
  });

  test('a SIGHUP with a broken certificate file keeps serving the previous certificate and logs why', async () => {
    const port = portOf(server.url);
    const servedBefore = await servedFingerprint(port, ca.caCert);
    const counted = await reloads();

    writeFileSync(served.cert, 'not a certificate\n');
    server.child.kill('SIGHUP');
    await waitFor(async () => (await reloads()).get('{outcome="failed"}') === (counted.get('{outcome="failed"}') ?? 0) + 1, { what: 'beacon_tls_reloads_total{outcome="failed"} to count the bad reload' });

    assert.equal(await servedFingerprint(port, ca.caCert), servedBefore);
    assert.equal((await reloads()).get('{outcome="ok"}'), counted.get('{outcome="ok"}'));
    const warning = server.output().split('\n').find((line) => line.includes('TLS reload failed'));
    assert.ok(warning, server.output());
    assert.match(warning, /"level":40/);
    assert.ok(warning.includes(`--tls-cert ${served.cert}: not a PEM file`), warning);
  });
});

describe('bad TLS files at start', () => {
  const dir = tempDir({ after });
  let issued: Awaited<ReturnType<typeof certificates>>;
  before(async () => {
    issued = await certificates(dir);
    writeFileSync(join(dir, 'junk.pem'), 'not a certificate\n');
  });

  const cases: [string, () => string[], RegExp][] = [
    ['a missing certificate file', () => ['--tls-cert', join(dir, 'absent.crt'), '--tls-key', issued.server.key], /^beacon server: --tls-cert \S+absent\.crt: cannot read it \(ENOENT\)$/],
    ['a key that is not PEM', () => ['--tls-cert', issued.server.cert, '--tls-key', join(dir, 'junk.pem')], /^beacon server: --tls-key \S+junk\.pem: not a PEM file/],
    ['a key that does not match the certificate', () => ['--tls-cert', issued.server.cert, '--tls-key', issued.client.key], /^beacon server: --tls-cert and --tls-key: not a usable certificate\/key/],
    ['a CA file that is not PEM', () => ['--tls-cert', issued.server.cert, '--tls-key', issued.server.key, '--tls-ca', join(dir, 'junk.pem'), '--tls-verify-clients'], /^beacon server: --tls-ca \S+junk\.pem: not a PEM file/],
    ['--tls-verify-clients without --tls-ca', () => ['--tls-cert', issued.server.cert, '--tls-key', issued.server.key, '--tls-verify-clients'], /^beacon server: --tls-verify-clients needs --tls-ca/],
  ];
  for (const [what, args, message] of cases) {
    test(`${what}: exits non-zero with one line naming the flag`, async () => {
      const { code, stderr } = await runServerExpectingExit(['--http-port', '0', '--dns-port', '0', '--db', join(dir, 'b.db'), ...args()]);
      assert.notEqual(code, 0);
      assert.equal(stderr.trim().split('\n').length, 1, stderr);
      assert.match(stderr.trim(), message);
    });
  }
});
