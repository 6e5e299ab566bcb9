import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ConfigError } from '../../contract/command-line.js';
import { createThrowawayCa } from '../../clients/tls/openssl-ca.js';
import { etcdTls } from '../../server/etcd-tls-flags.js';
import { tempDir } from '../support/temp.js';

const NONE = { 'etcd-ca': '', 'etcd-cert': '', 'etcd-key': '' };
const refusal = (message: RegExp) => (error: unknown) => error instanceof ConfigError && message.test(error.message);

describe('etcdTls: the URLs and the TLS flags checked together', () => {
  test('https:// URLs with the CA, a certificate and its key: the three files read', async (t) => {
    const ca = await createThrowawayCa(tempDir(t));
    const issued = await ca.issue('beacon', { usage: 'client' });

    const tls = etcdTls('--etcd', ['https://10.0.0.1:2379', 'https://10.0.0.2:2379'], { 'etcd-ca': ca.caCert, 'etcd-cert': issued.cert, 'etcd-key': issued.key });

    assert.deepEqual([String(tls?.ca).includes('BEGIN CERTIFICATE'), String(tls?.cert).includes('BEGIN CERTIFICATE'), String(tls?.key).includes('PRIVATE KEY')], [true, true, true]);
  });

  test('no flag: nothing to read, whatever the scheme (https:// alone is TLS with the system CAs)', () => {
    assert.equal(etcdTls('--etcd', ['https://10.0.0.1:2379'], NONE), undefined);
    assert.equal(etcdTls('--etcd', ['http://10.0.0.1:2379'], NONE), undefined);
    assert.equal(etcdTls('--etcd', [], NONE), undefined);
  });

  test('refused: a TLS flag with http:// URLs, mixed schemes, TLS flags without URLs, a certificate without its key', () => {
    assert.throws(() => etcdTls('--to-etcd', ['http://10.0.0.1:2379'], { ...NONE, 'etcd-ca': 'ca.crt' }), refusal(/^--etcd-ca needs https:\/\/ etcd URLs \(TLS\); --to-etcd has http:\/\/10\.0\.0\.1:2379/));
    assert.throws(() => etcdTls('--etcd', ['https://10.0.0.1:2379', 'http://10.0.0.2:2379'], NONE), refusal(/^--etcd mixes http:\/\/ and https:\/\/ URLs/));
    assert.throws(() => etcdTls('--etcd', [], { ...NONE, 'etcd-cert': 'c', 'etcd-key': 'k' }), refusal(/^--etcd-cert, --etcd-key are for etcd: give --etcd too, with https:\/\/ URLs$/));
    assert.throws(() => etcdTls('--etcd', ['https://10.0.0.1:2379'], { ...NONE, 'etcd-cert': 'c' }), refusal(/^--etcd-cert needs --etcd-key/));
  });
});
