import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseDemoConfig } from '../../../clients/demo/demo-config.js';

describe('npm run demo configuration', () => {
  it('has the documented ports', () => {
    const config = parseDemoConfig([], {})!;

    assert.deepEqual(
      [config.httpPort, config.dnsPort, config.proxyPort, config.adminPort, config.basePort, config.db],
      [8500, 8600, 8080, 9901, 9001, ':memory:'],
    );
  });

  it('--tls is off unless given, and no BEACON_TLS* variable turns it on (those name the server\'s files)', () => {
    assert.equal(parseDemoConfig([], { BEACON_TLS: 'true', BEACON_TLS_CERT: '/x.crt' })!.tls, false);
    assert.equal(parseDemoConfig(['--tls'], {})!.tls, true);
  });

  it('refuses two listeners on one port, naming both', () => {
    assert.throws(() => parseDemoConfig(['--proxy-port', '9002'], {}), { message: /^web-2 \(--base-port \+ 1\) and --proxy-port are both 9002: every listener needs its own port$/ });
  });
});
