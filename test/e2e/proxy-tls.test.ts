import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { after, before, describe, it } from 'node:test';
import { type CertificateFiles, createThrowawayCa } from '../../clients/tls/openssl-ca.js';
import { waitFor } from '../support/events.js';
import { client } from '../support/http.js';
import { scrape } from '../support/metrics.js';
import { startProxyProcess } from '../support/proxy-process.js';
import { type ServerProcess, startServerProcess } from '../support/server-process.js';
import { tempDir } from '../support/temp.js';
import { httpsCall, startHttpsBackend, startTlsEcho, type TlsBackend, type TlsClient, tlsExchange } from '../support/tls-backends.js';
import { startWebSocketEcho, webSocketRoundTrip } from '../support/websocket.js';

/** The files of one setup: a CA for everything Beacon's side trusts, and another CA nobody here trusts. */
interface Pki {
  caCert: string;
  /** Instances: an IP SAN for 127.0.0.1; one with only DNS:web.internal; one with only DNS:elsewhere.internal; one from the other CA. */
  instance: CertificateFiles;
  named: CertificateFiles;
  wrongName: CertificateFiles;
  otherCa: CertificateFiles;
  /** The proxy's listener certificate, and its client certificate towards instances. */
  listener: CertificateFiles;
  proxyClient: CertificateFiles;
  /** The client's certificate towards the proxy. */
  client: CertificateFiles;
}

async function makePki(dir: string): Promise<Pki> {
  const ca = await createThrowawayCa(`${dir}/ca`);
  const other = await createThrowawayCa(`${dir}/other`, 'A CA the proxy does not trust');
  const loopback = { altNames: ['IP:127.0.0.1'], usage: 'server' as const };
  return {
    caCert: ca.caCert,
    instance: await ca.issue('instance', loopback),
    named: await ca.issue('named', { altNames: ['DNS:web.internal'], usage: 'server' }),
    wrongName: await ca.issue('wrong-name', { altNames: ['DNS:elsewhere.internal'], usage: 'server' }),
    otherCa: await other.issue('other-ca', loopback),
    listener: await ca.issue('proxy', loopback),
    proxyClient: await ca.issue('proxy-client', { usage: 'client' }),
    client: await ca.issue('client', { usage: 'client' }),
  };
}

/** The proxy's flags for TLS on both hops, client certificates required on both. */
function mutualTlsFlags(pki: Pki): string[] {
  return [
    ...['--listen-tls-cert', pki.listener.cert, '--listen-tls-key', pki.listener.key, '--listen-tls-ca', pki.caCert, '--listen-tls-verify-clients'],
    ...['--upstream-tls-ca', pki.caCert, '--upstream-tls-cert', pki.proxyClient.cert, '--upstream-tls-key', pki.proxyClient.key],
  ];
}

/** Lines of the proxy's output that log a TLS failure for `instance`. */
function tlsWarnings(output: string, instance: string): number {
  return output.split('\n').filter((line) => line.includes('TLS to instance failed') && line.includes(`"instance":"${instance}"`)).length;
}

describe('beacon proxy with TLS on both hops', () => {
  const dir = tempDir({ after }, 'beacon-proxy-tls-');
  let registry: ServerProcess;
  let pki: Pki;
  let withCert: TlsClient;
  let withoutCert: TlsClient;
  const backends: TlsBackend[] = [];

  before(async () => {
    pki = await makePki(dir);
    const ca = await readFile(pki.caCert);
    withCert = { ca, cert: await readFile(pki.client.cert), key: await readFile(pki.client.key) };
    withoutCert = { ca };
    registry = await startServerProcess(['--db', ':memory:']);
  });
  after(async () => {
    await Promise.all(backends.map((backend) => backend.close()));
    await registry.stop();
  });

  it('HTTP mode: serves every request from the instances that verify; one from another CA and one with the wrong name are routed around, counted by reason, logged once', async (t) => {
    const clientCa = pki.caCert;
    const good = await startHttpsBackend('good', { files: pki.instance, clientCa });
    const named = await startHttpsBackend('named', { files: pki.named, clientCa });
    const badCa = await startHttpsBackend('bad-ca', { files: pki.otherCa, clientCa });
    const badName = await startHttpsBackend('bad-name', { files: pki.wrongName, clientCa });
    backends.push(good, named, badCa, badName);
    const api = client(registry.url);
    for (const backend of [good, badCa, badName]) await api.register('web', backend.name, { address: '127.0.0.1', port: backend.port, ttl: 300 });
    await api.register('web', named.name, { address: '127.0.0.1', port: named.port, ttl: 300, meta: { 'tls-server-name': 'web.internal' } });
    const proxy = await startProxyProcess(['--service', 'web', '--registry', registry.url, ...mutualTlsFlags(pki)]);
    t.after(() => proxy.stop());
    assert.match(proxy.ready.url, /^https:/);

    // POSTs too: a failed handshake sent nothing, so even a non-idempotent request is retried.
    // Host headers of another name must not become the name checked on the instance.
    const answers = [];
    for (let i = 0; i < 60; i++) {
      answers.push(await httpsCall(proxy.ready.port, withCert, i % 2 ? { method: 'POST', body: `order ${i}`, host: 'shop.example' } : {}));
    }
    const failures = await scrape(proxy.ready.adminUrl, 'beacon_proxy_tls_failures_total');
    const trips = await scrape(proxy.ready.adminUrl, 'beacon_proxy_breaker_transitions_total');

    const served = answers.map((answer) => (typeof answer === 'string' ? answer : `${answer.status} ${answer.body}`));
    assert.deepEqual(served.filter((answer) => !answer.startsWith('200 ')), [], 'no request failed');
    assert.deepEqual(new Set(served.map((answer) => JSON.parse(answer.slice(4)).backend)), new Set(['good', 'named']));
    assert.ok(served.every((answer) => JSON.parse(answer.slice(4)).proto === 'https'), 'instances are told the client came over https');
    assert.equal(badCa.hits + badName.hits, 0, 'no request reached an instance that failed verification');
    assert.ok((failures.get('{instance="bad-ca",reason="UNABLE_TO_VERIFY_LEAF_SIGNATURE"}') ?? 0) >= 1, `bad-ca counted: ${[...failures]}`);
    assert.ok((failures.get('{instance="bad-name",reason="ERR_TLS_CERT_ALTNAME_INVALID"}') ?? 0) >= 1, `bad-name counted: ${[...failures]}`);
    assert.deepEqual([...failures.keys()].filter((labels) => labels.includes('"good"') || labels.includes('"named"')), []);
    assert.ok((trips.get('{instance="bad-ca",transition="trip"}') ?? 0) >= 1, 'bad-ca ejected by its breaker');
    assert.ok((trips.get('{instance="bad-name",transition="trip"}') ?? 0) >= 1, 'bad-name ejected by its breaker');
    assert.equal(tlsWarnings(proxy.output(), 'bad-ca'), 1, 'logged once, not per request');
    assert.equal(tlsWarnings(proxy.output(), 'bad-name'), 1);
    assert.match(proxy.output(), /"reason":"UNABLE_TO_VERIFY_LEAF_SIGNATURE"/);
  });

  it('HTTP mode: a client without a certificate is refused at the handshake when clients are verified', async (t) => {
    const good = await startHttpsBackend('good', { files: pki.instance, clientCa: pki.caCert });
    backends.push(good);
    await client(registry.url).register('refusing', good.name, { address: '127.0.0.1', port: good.port, ttl: 300 });
    const proxy = await startProxyProcess(['--service', 'refusing', '--registry', registry.url, ...mutualTlsFlags(pki)]);
    t.after(() => proxy.stop());

    const refused = await httpsCall(proxy.ready.port, withoutCert);
    const accepted = await httpsCall(proxy.ready.port, withCert);

    assert.equal(typeof refused, 'string', `refused: ${JSON.stringify(refused)}`);
    assert.match(refused as string, /^error: /);
    assert.equal(typeof accepted === 'object' && accepted.status, 200);
    assert.equal(good.hits, 1, 'only the request with a certificate reached the instance');
    await waitFor(async () => (await scrape(proxy.ready.adminUrl, 'beacon_proxy_client_tls_failures_total')).get('') === 1, { what: 'the refused handshake counted' });
  });

  it('TCP mode: joins TLS clients to TLS instances with certificates on both hops, routes around one from another CA, and refuses a client without a certificate', async (t) => {
    const good = await startTlsEcho('good', { files: pki.instance, clientCa: pki.caCert });
    const badCa = await startTlsEcho('bad-ca', { files: pki.otherCa, clientCa: pki.caCert });
    backends.push(good, badCa);
    const api = client(registry.url);
    for (const backend of [good, badCa]) await api.register('echo', backend.name, { address: '127.0.0.1', port: backend.port, ttl: 300 });
    const proxy = await startProxyProcess(['--service', 'echo', '--registry', registry.url, '--mode', 'tcp', ...mutualTlsFlags(pki)]);
    t.after(() => proxy.stop());

    const answers = [];
    for (let i = 0; i < 10; i++) answers.push(await tlsExchange(proxy.ready.port, withCert, `hello ${i}`));
    const refused = await tlsExchange(proxy.ready.port, withoutCert, 'no certificate');
    const failures = await scrape(proxy.ready.adminUrl, 'beacon_proxy_tls_failures_total');

    assert.deepEqual(answers, Array.from({ length: 10 }, (_, i) => `good:hello ${i}`));
    assert.match(refused, /^error: /);
    assert.equal(good.hits, 10, 'the client without a certificate never reached an instance');
    assert.equal(badCa.hits, 0);
    assert.ok((failures.get('{instance="bad-ca",reason="UNABLE_TO_VERIFY_LEAF_SIGNATURE"}') ?? 0) >= 1, `bad-ca counted: ${[...failures]}`);
    assert.equal(tlsWarnings(proxy.output(), 'bad-ca'), 1);
  });

  it('carries a WebSocket over TLS on both hops (wss to the proxy, wss to the instance)', async (t) => {
    const echo = await startWebSocketEcho({ cert: await readFile(pki.instance.cert), key: await readFile(pki.instance.key) });
    t.after(() => echo.close());
    await client(registry.url).register('chat', 'chat-1', { address: '127.0.0.1', port: echo.port, ttl: 300 });
    const proxy = await startProxyProcess([
      ...['--service', 'chat', '--registry', registry.url],
      ...['--listen-tls-cert', pki.listener.cert, '--listen-tls-key', pki.listener.key, '--upstream-tls-ca', pki.caCert],
    ]);
    t.after(() => proxy.stop());

    const trip = await webSocketRoundTrip(proxy.ready.port, 'over tls', '', await readFile(pki.caCert));

    assert.equal(trip.status, 'HTTP/1.1 101 Switching Protocols');
    assert.ok(trip.accepted);
    assert.equal(trip.reply, 'echo: over tls');
    assert.equal(echo.requests[0]?.headers['x-forwarded-proto'], 'https');
    assert.equal(await proxy.stop(), 0, 'a TLS listener stops gracefully too');
  });
});
