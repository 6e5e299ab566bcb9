import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { parseDemoServiceConfig } from '../../../clients/demo/demo-service-config.js';
import { ConfigError, parseProxyConfig } from '../../../clients/proxy/proxy-config.js';
import { RegistryClientError } from '../../../clients/registry/errors.js';
import { type CertificateFiles, createThrowawayCa } from '../../../clients/tls/openssl-ca.js';
import { registryTlsOf, withTlsAdvice } from '../../../clients/tls/registry-tls.js';
import { tempDir } from '../../support/temp.js';

const HTTPS = 'https://registry.internal:8500';
const NONE = { 'tls-ca': '', 'tls-cert': '', 'tls-key': '' };

describe('the registry hop flags: --tls-ca, --tls-cert, --tls-key', () => {
  const dir = tempDir({ after }, 'beacon-registry-tls-');
  let ca: string;
  let client: CertificateFiles;
  let notPem: string;

  before(async () => {
    const authority = await createThrowawayCa(`${dir}/ca`);
    ca = authority.caCert;
    client = await authority.issue('client', { usage: 'client' });
    notPem = `${dir}/notes.txt`;
    writeFileSync(notPem, 'not a certificate\n');
  });

  it('none given: no TLS material (plain http, or https with the system CAs)', () => {
    assert.equal(registryTlsOf(HTTPS, NONE), undefined);
    assert.equal(registryTlsOf('http://127.0.0.1:8500', NONE), undefined);
  });

  it('reads the CA and the client certificate and key', () => {
    const material = registryTlsOf(HTTPS, { 'tls-ca': ca, 'tls-cert': client.cert, 'tls-key': client.key })!;

    assert.deepEqual([material.ca, material.cert, material.key], [readFileSync(ca), readFileSync(client.cert), readFileSync(client.key)]);
  });

  it('refuses them with an http:// registry, naming the flag', () => {
    assert.throws(() => registryTlsOf('http://127.0.0.1:8500', { ...NONE, 'tls-ca': ca }), new ConfigError('--tls-ca is for an https:// registry, and --registry is http://127.0.0.1:8500 (use https://, or leave the TLS flags out)'));
  });

  it('a file that is not PEM, or a certificate without its key, is a ConfigError naming the flag', () => {
    assert.throws(() => registryTlsOf(HTTPS, { ...NONE, 'tls-ca': notPem }), new ConfigError(`--tls-ca ${notPem}: not a PEM file (no -----BEGIN line)`));
    assert.throws(() => registryTlsOf(HTTPS, { ...NONE, 'tls-cert': client.cert }), new ConfigError("--tls-cert needs --tls-key (the certificate's private key)"));
  });

  it('beacon proxy reads them for its registry hop from BEACON_REGISTRY_CA, not from BEACON_TLS_CA', () => {
    const required = ['--service', 'web', '--listen', '127.0.0.1:0', '--registry', HTTPS];

    const fromOwnVariable = parseProxyConfig(required, { BEACON_REGISTRY_CA: ca })!;
    const fromServerVariable = parseProxyConfig(required, { BEACON_TLS_CA: ca })!;

    assert.deepEqual(fromOwnVariable.registryTls, { ca: readFileSync(ca) });
    assert.equal(fromServerVariable.registryTls, undefined);
    assert.throws(() => parseProxyConfig([...required, '--tls-ca', notPem], {}), (error: Error) => error instanceof ConfigError && error.message.startsWith('--tls-ca '));
  });

  it('beacon demo-service reads them too', () => {
    const config = parseDemoServiceConfig(['--registry', HTTPS, '--tls-ca', ca, '--tls-cert', client.cert, '--tls-key', client.key], {})!;

    assert.deepEqual(Object.keys(config.registryTls ?? {}).sort(), ['ca', 'cert', 'key']);
  });

  it('a TLS failure gets the flags that fix it; other errors keep their message', () => {
    const failure = (remedy: 'ca' | 'client_certificate' | 'https_url') => new RegistryClientError('tls', 'registry x (GET /v1/services): why', { remedy });
    const refused = new RegistryClientError('unreachable', 'registry x unreachable');

    assert.match(withTlsAdvice(failure('ca')), /^registry x \(GET \/v1\/services\): why: pass --tls-ca FILE \(or BEACON_REGISTRY_CA\)/);
    assert.match(withTlsAdvice(failure('client_certificate')), /: pass --tls-cert FILE --tls-key FILE \(or BEACON_REGISTRY_CERT, BEACON_REGISTRY_KEY\)/);
    assert.match(withTlsAdvice(failure('https_url')), /: use an https:\/\/ --registry$/);
    assert.equal(withTlsAdvice(refused), 'registry x unreachable');
  });
});
