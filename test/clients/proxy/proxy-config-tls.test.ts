import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { ConfigError, parseProxyConfig } from '../../../clients/proxy/proxy-config.js';
import { type CertificateFiles, createThrowawayCa } from '../../../clients/tls/openssl-ca.js';
import { tempDir } from '../../support/temp.js';

const beaconBin = fileURLToPath(new URL('../../../../bin/beacon.js', import.meta.url));
const REQUIRED = ['--service', 'web', '--listen', '127.0.0.1:8080'];

describe('beacon proxy TLS flags', () => {
  const dir = tempDir({ after }, 'beacon-proxy-tls-config-');
  let caCert: string;
  let server: CertificateFiles;
  let clientCert: CertificateFiles;

  before(async () => {
    const ca = await createThrowawayCa(`${dir}/ca`);
    caCert = ca.caCert;
    server = await ca.issue('proxy', { altNames: ['IP:127.0.0.1'], usage: 'server' });
    clientCert = await ca.issue('proxy-client', { usage: 'client' });
  });

  it('are off by default', () => {
    const config = parseProxyConfig(REQUIRED, {})!;

    assert.equal(config.listenTls, undefined);
    assert.equal(config.upstreamTls, undefined);
  });

  it('read both hops\' files once, at start', () => {
    const config = parseProxyConfig(
      [
        ...REQUIRED,
        ...['--listen-tls-cert', server.cert, '--listen-tls-key', server.key, '--listen-tls-ca', caCert, '--listen-tls-verify-clients'],
        ...['--upstream-tls-ca', caCert, '--upstream-tls-cert', clientCert.cert, '--upstream-tls-key', clientCert.key],
      ],
      {},
    )!;

    assert.deepEqual(config.listenTls, { cert: readFileSync(server.cert), key: readFileSync(server.key), clientCa: readFileSync(caCert) });
    assert.deepEqual(config.upstreamTls, { ca: readFileSync(caCert), cert: readFileSync(clientCert.cert), key: readFileSync(clientCert.key) });
  });

  it('take the CA alone for instances (no client certificate), and BEACON_* variables', () => {
    const config = parseProxyConfig(REQUIRED, { BEACON_UPSTREAM_TLS_CA: caCert, BEACON_LISTEN_TLS_CERT: server.cert, BEACON_LISTEN_TLS_KEY: server.key })!;

    assert.deepEqual(config.upstreamTls, { ca: readFileSync(caCert) });
    assert.equal(config.listenTls?.clientCa, undefined);
  });

  const refusals: [string, string[], RegExp][] = [
    ['a listener certificate without its key', ['--listen-tls-cert', 'CERT'], /^--listen-tls-cert needs --listen-tls-key/],
    ['verifying clients without a CA', ['--listen-tls-cert', 'CERT', '--listen-tls-key', 'KEY', '--listen-tls-verify-clients'], /^--listen-tls-verify-clients needs --listen-tls-ca/],
    ['a client CA without verifying clients', ['--listen-tls-cert', 'CERT', '--listen-tls-key', 'KEY', '--listen-tls-ca', 'CA'], /^--listen-tls-ca is only used with --listen-tls-verify-clients/],
    ['a client CA without a TLS listener', ['--listen-tls-ca', 'CA', '--listen-tls-verify-clients'], /^--listen-tls-ca needs --listen-tls-cert and --listen-tls-key/],
    ['a client certificate for instances without their CA', ['--upstream-tls-cert', 'CERT', '--upstream-tls-key', 'KEY'], /^--upstream-tls-cert needs --upstream-tls-ca/],
    ['an unreadable file', ['--upstream-tls-ca', 'ABSENT'], /^--upstream-tls-ca .*absent\.pem: cannot read it \(ENOENT\)$/],
    ['a file that is not PEM', ['--upstream-tls-ca', 'JUNK'], /^--upstream-tls-ca .*junk\.pem: not a PEM file/],
    ['a key that is not the certificate\'s', ['--listen-tls-cert', 'CERT', '--listen-tls-key', 'OTHER_KEY'], /^--listen-tls-cert and --listen-tls-key: not a usable certificate\/key/],
  ];
  for (const [what, args, message] of refusals) {
    it(`refuse ${what}, naming the flag`, () => {
      writeFileSync(`${dir}/junk.pem`, 'not a certificate\n');
      const files: Record<string, string> = { CERT: server.cert, KEY: server.key, CA: caCert, ABSENT: `${dir}/absent.pem`, JUNK: `${dir}/junk.pem`, OTHER_KEY: clientCert.key };
      const argv = [...REQUIRED, ...args.map((arg) => files[arg] ?? arg)];

      assert.throws(() => parseProxyConfig(argv, {}), (error: Error) => error instanceof ConfigError && message.test(error.message));
    });
  }

  it('the command prints one line naming the flag and exits 2', () => {
    const result = spawnSync(process.execPath, [beaconBin, 'proxy', ...REQUIRED, '--listen-tls-cert', `${dir}/absent.crt`, '--listen-tls-key', server.key], { encoding: 'utf8' });

    assert.equal(result.status, 2);
    assert.match(result.stderr, /^beacon proxy: --listen-tls-cert .*absent\.crt: cannot read it \(ENOENT\) \(see beacon proxy --help\)\n$/);
  });
});
