import assert from 'node:assert/strict';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { createServer as createHttpServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { createServer, type ServerOptions } from 'node:https';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test, type TestContext } from 'node:test';
import { RegistryClientError } from '../../../clients/registry/errors.js';
import { RegistryApi } from '../../../clients/registry/registry-api.js';
import { createThrowawayCa, type CertificateFiles } from '../../../clients/tls/openssl-ca.js';
import { readTlsFiles, type TlsMaterial } from '../../../clients/tls/tls-files.js';
import { tempDir } from '../../support/temp.js';

/**
 * RegistryApi against node:https servers made with a throwaway CA: what a private CA and a
 * client certificate do, and the one-line reason of each handshake failure.
 */

const FLAGS = { ca: '--tls-ca', cert: '--tls-cert', key: '--tls-key' };

function answerServices(_request: IncomingMessage, response: ServerResponse): void {
  response.writeHead(200, { 'content-type': 'application/json', 'x-beacon-index': '7' }).end('[]');
}

interface Pki {
  ca: string;
  otherCa: string;
  server: CertificateFiles;
  misnamed: CertificateFiles;
  client: CertificateFiles;
  strangerClient: CertificateFiles;
}

let pki: Pki;

async function httpsRegistry(t: TestContext, certificate: CertificateFiles, extra: ServerOptions = {}): Promise<string> {
  const server = createServer({ cert: readFileSync(certificate.cert), key: readFileSync(certificate.key), ...extra }, answerServices);
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  t.after(() => {
    server.closeAllConnections();
    server.close();
  });
  return `https://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

/** A registry that wants a client certificate signed by the test CA. */
function verifyingClients(): ServerOptions {
  return { ca: readFileSync(pki.ca), requestCert: true, rejectUnauthorized: true };
}

function newApi(t: TestContext, registry: string, tls?: TlsMaterial): RegistryApi {
  const api = new RegistryApi({ registry, requestTimeoutMs: 5_000, ...(tls ? { tls } : {}) });
  t.after(() => api.close());
  return api;
}

async function failure(call: Promise<unknown>): Promise<RegistryClientError> {
  const error = await call.then(
    () => assert.fail('the call succeeded'),
    (error: unknown) => error,
  );
  assert.ok(error instanceof RegistryClientError, String(error));
  return error;
}

describe('RegistryApi over https', () => {
  // Made while the suite is declared, so its removal is the suite's own after hook.
  const dir = tempDir({ after }, 'beacon-api-tls-');
  before(async () => {
    const ca = await createThrowawayCa(`${dir}/ca`);
    const other = await createThrowawayCa(`${dir}/other`, 'Another CA');
    pki = {
      ca: ca.caCert,
      otherCa: other.caCert,
      server: await ca.issue('registry', { altNames: ['DNS:localhost', 'IP:127.0.0.1'], usage: 'server' }),
      misnamed: await ca.issue('elsewhere', { altNames: ['DNS:elsewhere.example'], usage: 'server' }),
      client: await ca.issue('client', { usage: 'client' }),
      strangerClient: await other.issue('stranger', { usage: 'client' }),
    };
  });

  test('trusts a private CA given as tls.ca and answers as over http', async (t) => {
    const registry = await httpsRegistry(t, pki.server);
    const api = newApi(t, registry, readTlsFiles({ ca: pki.ca }, FLAGS));

    const answer = await api.services();

    assert.deepEqual(answer, { services: [], index: 7 });
  });

  test('without the CA: code tls, remedy ca, one line naming the verification error', async (t) => {
    const registry = await httpsRegistry(t, pki.server);
    const api = newApi(t, registry);

    const error = await failure(api.services());

    assert.equal(error.code, 'tls');
    assert.equal(error.remedy, 'ca');
    assert.equal(error.transient, false);
    assert.equal(error.message, `registry ${registry} (GET /v1/services): the registry's certificate is not trusted (UNABLE_TO_VERIFY_LEAF_SIGNATURE)`);
  });

  test('a certificate from another CA is not trusted either', async (t) => {
    const registry = await httpsRegistry(t, pki.server);
    const api = newApi(t, registry, readTlsFiles({ ca: pki.otherCa }, FLAGS));

    const error = await failure(api.services());

    assert.deepEqual([error.code, error.remedy], ['tls', 'ca']);
  });

  test("a certificate for another name: remedy registry_name, naming node's code", async (t) => {
    const registry = await httpsRegistry(t, pki.misnamed);
    const api = newApi(t, registry, readTlsFiles({ ca: pki.ca }, FLAGS));

    const error = await failure(api.services());

    assert.deepEqual([error.code, error.remedy], ['tls', 'registry_name']);
    assert.match(error.message, /is not for this host \(ERR_TLS_CERT_ALTNAME_INVALID/);
  });

  test('a registry that checks client certificates answers one signed by its CA', async (t) => {
    const registry = await httpsRegistry(t, pki.server, verifyingClients());
    const api = newApi(t, registry, readTlsFiles({ ca: pki.ca, cert: pki.client.cert, key: pki.client.key }, FLAGS));

    const answer = await api.services();

    assert.equal(answer.index, 7);
  });

  test('without a client certificate: remedy client_certificate, not "other side closed"', async (t) => {
    const registry = await httpsRegistry(t, pki.server, verifyingClients());
    const api = newApi(t, registry, readTlsFiles({ ca: pki.ca }, FLAGS));

    const error = await failure(api.services());

    assert.deepEqual([error.code, error.remedy], ['tls', 'client_certificate']);
    assert.match(error.message, /asks for a client certificate/);
  });

  test('with a client certificate the registry does not trust: remedy client_certificate', async (t) => {
    const registry = await httpsRegistry(t, pki.server, verifyingClients());
    const api = newApi(t, registry, readTlsFiles({ ca: pki.ca, cert: pki.strangerClient.cert, key: pki.strangerClient.key }, FLAGS));

    const error = await failure(api.services());

    assert.deepEqual([error.code, error.remedy], ['tls', 'client_certificate']);
    assert.match(error.message, /does not accept the client certificate/);
  });

  test('http:// to a registry serving https: remedy https_url', async (t) => {
    const registry = await httpsRegistry(t, pki.server);
    const api = newApi(t, registry.replace('https:', 'http:'));

    const error = await failure(api.services());

    assert.deepEqual([error.code, error.remedy], ['tls', 'https_url']);
  });

  test('https:// to a registry serving plain http: remedy http_url', async (t) => {
    const server = createHttpServer(answerServices);
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    t.after(() => server.close());
    const api = newApi(t, `https://127.0.0.1:${(server.address() as AddressInfo).port}`, readTlsFiles({ ca: pki.ca }, FLAGS));

    const error = await failure(api.services());

    assert.deepEqual([error.code, error.remedy], ['tls', 'http_url']);
  });

  test('a refused connection is still unreachable (transient), not a TLS failure', async (t) => {
    const closed = createServer();
    closed.listen(0, '127.0.0.1');
    await once(closed, 'listening');
    const freed = (closed.address() as AddressInfo).port;
    closed.close();
    await once(closed, 'close');
    const api = newApi(t, `https://127.0.0.1:${freed}`, readTlsFiles({ ca: pki.ca }, FLAGS));

    const error = await failure(api.services());

    assert.deepEqual([error.code, error.transient], ['unreachable', true]);
  });
});
