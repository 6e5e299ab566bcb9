import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ConfigError, parseServerConfig } from '../../server/config.js';

describe('the --tls-* flags of beacon server', () => {
  const parse = (argv: string[], env: NodeJS.ProcessEnv = {}) => parseServerConfig(argv, env)!;

  it('none given: plain HTTP', () => {
    assert.equal(parse([]).tls, undefined);
  });

  it('a certificate and key, with a CA and client verification, from flags or variables', () => {
    assert.deepEqual(parse(['--tls-cert', 'c.pem', '--tls-key', 'k.pem']).tls, { cert: 'c.pem', key: 'k.pem', ca: undefined, verifyClients: false });
    assert.deepEqual(parse([], { BEACON_TLS_CERT: 'c.pem', BEACON_TLS_KEY: 'k.pem', BEACON_TLS_CA: 'ca.pem', BEACON_TLS_VERIFY_CLIENTS: 'true' }).tls, {
      cert: 'c.pem',
      key: 'k.pem',
      ca: 'ca.pem',
      verifyClients: true,
    });
  });

  for (const [argv, message] of [
    [['--tls-cert', 'c.pem'], /^--tls-cert needs --tls-key/],
    [['--tls-key', 'k.pem'], /^--tls-key needs --tls-cert/],
    [['--tls-cert', 'c.pem', '--tls-key', 'k.pem', '--tls-verify-clients'], /^--tls-verify-clients needs --tls-ca/],
    [['--tls-cert', 'c.pem', '--tls-key', 'k.pem', '--tls-ca', 'ca.pem'], /^--tls-ca is used only with --tls-verify-clients/],
    [['--tls-verify-clients', '--tls-ca', 'ca.pem'], /^--tls-verify-clients needs --tls-cert and --tls-key/],
  ] as const) {
    it(`refuses ${argv.join(' ')} with a config error`, () => {
      assert.throws(() => parse([...argv]), (error: Error) => error instanceof ConfigError && message.test(error.message));
    });
  }
});
