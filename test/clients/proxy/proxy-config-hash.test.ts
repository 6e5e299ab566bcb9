import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ConfigError, parseProxyConfig } from '../../../clients/proxy/proxy-config.js';

const REQUIRED = ['--service', 'web', '--listen', '127.0.0.1:8080'];

describe('beacon proxy configuration: ring-hash key flags', () => {
  it('--policy ring-hash hashes a header (name lower-cased) or a cookie', () => {
    assert.deepEqual(parseProxyConfig([...REQUIRED, '--policy', 'ring-hash', '--hash-header', 'X-User-Id'], {})!.hashOn, { header: 'x-user-id' });
    assert.deepEqual(parseProxyConfig([...REQUIRED, '--policy', 'ring-hash', '--hash-cookie', 'session'], {})!.hashOn, { cookie: 'session' });
    assert.equal(parseProxyConfig(REQUIRED, {})!.hashOn, undefined);
  });

  it('in TCP mode ring-hash needs no key flag: it hashes the client address', () => {
    const config = parseProxyConfig([...REQUIRED, '--mode', 'tcp', '--policy', 'ring-hash'], {})!;

    assert.equal(config.policy, 'ring-hash');
    assert.equal(config.hashOn, undefined);
  });

  const bad: [string, string[], RegExp][] = [
    ['ring-hash in HTTP mode without a key', ['--policy', 'ring-hash'], /^--policy ring-hash needs --hash-header NAME or --hash-cookie NAME in HTTP mode$/],
    ['both key flags', ['--policy', 'ring-hash', '--hash-header', 'x-a', '--hash-cookie', 'b'], /^--hash-header and --hash-cookie exclude each other/],
    ['a key flag with another policy', ['--hash-header', 'x-a'], /^--hash-header applies only to --policy ring-hash$/],
    ['a key flag in TCP mode', ['--mode', 'tcp', '--policy', 'ring-hash', '--hash-cookie', 'b'], /^--hash-header and --hash-cookie apply to HTTP mode/],
    ['a header name that is not a token', ['--policy', 'ring-hash', '--hash-header', 'x user'], /^--hash-header must be a header or cookie name/],
  ];
  for (const [what, argv, message] of bad) {
    it(`refuses ${what} with a message naming the flag`, () => {
      assert.throws(() => parseProxyConfig([...REQUIRED, ...argv], {}), (error: Error) => error instanceof ConfigError && message.test(error.message));
    });
  }
});
