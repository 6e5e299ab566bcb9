import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { createThrowawayCa } from '../../../clients/tls/openssl-ca.js';
import { readTlsFiles, TlsFileError } from '../../../clients/tls/tls-files.js';
import { tempDir } from '../../support/temp.js';

const FLAGS = { ca: '--tls-ca', cert: '--tls-cert', key: '--tls-key' };

describe('readTlsFiles', () => {
  it('reads a CA, a certificate and its key', async (t) => {
    const dir = tempDir(t);
    const ca = await createThrowawayCa(dir);
    const issued = await ca.issue('registry');

    const material = readTlsFiles({ ca: ca.caCert, ...issued }, FLAGS);

    assert.match(String(material.ca), /BEGIN CERTIFICATE/);
    assert.match(String(material.cert), /BEGIN CERTIFICATE/);
    assert.match(String(material.key), /BEGIN PRIVATE KEY/);
  });

  it('names the flag and the file for a missing file, a non-PEM file, a lone certificate or a key that does not match', async (t) => {
    const dir = tempDir(t);
    const ca = await createThrowawayCa(dir);
    const first = await ca.issue('one');
    const second = await ca.issue('two');
    writeFileSync(`${dir}/junk.pem`, 'not a certificate');

    assert.throws(() => readTlsFiles({ ca: `${dir}/absent.pem` }, FLAGS), (error: Error) => error instanceof TlsFileError && /^--tls-ca .*absent\.pem: cannot read it \(ENOENT\)$/.test(error.message));
    assert.throws(() => readTlsFiles({ ca: `${dir}/junk.pem` }, FLAGS), /^TlsFileError: --tls-ca .*junk\.pem: not a PEM file/);
    assert.throws(() => readTlsFiles({ cert: first.cert }, FLAGS), /--tls-cert needs --tls-key/);
    assert.throws(() => readTlsFiles({ key: first.key }, FLAGS), /--tls-key needs --tls-cert/);
    assert.throws(() => readTlsFiles({ cert: first.cert, key: second.key }, FLAGS), /--tls-cert and --tls-key: not a usable certificate\/key/);
  });
});
