import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { copyFileSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { SecureContextOptions } from 'node:tls';
import { describe, it } from 'node:test';
import { createThrowawayCa } from '../../../clients/tls/openssl-ca.js';
import { type ApiTlsConfig, ApiTlsReloader, httpsOptions, readApiTls } from '../../../server/tls/api-tls.js';
import { tempDir } from '../../support/temp.js';

/** A reloader over a stand-in server that records the contexts it is given, with its events and log. */
function reloaderFor(config: ApiTlsConfig) {
  const contexts: SecureContextOptions[] = [];
  const outcomes: string[] = [];
  const expiries: number[] = [];
  const warnings: string[] = [];
  const reloader = new ApiTlsReloader(
    config,
    { setSecureContext: (options: SecureContextOptions) => contexts.push(options) },
    { reloaded: (outcome) => outcomes.push(outcome), served: (seconds) => expiries.push(seconds) },
    { info: () => undefined, warn: (_details, message) => warnings.push(message) },
  );
  return { reloader, contexts, outcomes, expiries, warnings };
}

describe('the HTTP API certificate', () => {
  it("reads the served certificate's notAfter as the expiry", async (t) => {
    const ca = await createThrowawayCa(tempDir(t));
    const issued = await ca.issue('registry', { days: 7 });

    const served = readApiTls({ ...issued, ca: undefined, verifyClients: false });

    assert.equal(served.expiresAt, Date.parse(new X509Certificate(readFileSync(issued.cert)).validTo) / 1000);
  });

  it('asks for and requires a client certificate only with --tls-verify-clients', async (t) => {
    const ca = await createThrowawayCa(tempDir(t));
    const issued = await ca.issue('registry');
    const plain = { ...issued, ca: undefined, verifyClients: false };
    const verifying = { ...issued, ca: ca.caCert, verifyClients: true };

    assert.deepEqual([httpsOptions(plain, readApiTls(plain)).requestCert, httpsOptions(plain, readApiTls(plain)).rejectUnauthorized], [false, false]);
    const options = httpsOptions(verifying, readApiTls(verifying));
    assert.deepEqual([options.requestCert, options.rejectUnauthorized, String(options.ca)], [true, true, readFileSync(ca.caCert, 'utf8')]);
  });

  it('a reload with good files hands the new context to the server and counts ok', async (t) => {
    const dir = tempDir(t);
    const ca = await createThrowawayCa(dir);
    const config = { cert: join(dir, 'served.crt'), key: join(dir, 'served.key'), ca: undefined, verifyClients: false };
    const next = await ca.issue('registry', { days: 3 });
    copyFileSync(next.cert, config.cert);
    copyFileSync(next.key, config.key);
    const { reloader, contexts, outcomes, expiries } = reloaderFor(config);

    assert.equal(reloader.reload(), true);

    assert.deepEqual(contexts.map((context) => String(context.cert)), [readFileSync(next.cert, 'utf8')]);
    assert.deepEqual(outcomes, ['ok']);
    assert.deepEqual(expiries, [Date.parse(new X509Certificate(readFileSync(next.cert)).validTo) / 1000]);
  });

  it('a reload with a bad file leaves the server alone, counts failed and warns naming the flag and file', async (t) => {
    const dir = tempDir(t);
    const ca = await createThrowawayCa(dir);
    const issued = await ca.issue('registry');
    const config = { cert: join(dir, 'served.crt'), key: issued.key, ca: undefined, verifyClients: false };
    writeFileSync(config.cert, 'not a certificate\n');
    const { reloader, contexts, outcomes, expiries, warnings } = reloaderFor(config);

    assert.equal(reloader.reload(), false);

    assert.deepEqual([contexts, outcomes, expiries], [[], ['failed'], []]);
    assert.equal(warnings.length, 1);
    assert.ok(warnings[0]!.includes(`--tls-cert ${config.cert}: not a PEM file`), warnings[0]);
  });
});
