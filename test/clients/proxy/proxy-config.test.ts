import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, it } from 'node:test';
import { ConfigError, parseProxyConfig } from '../../../clients/proxy/proxy-config.js';

const beaconBin = fileURLToPath(new URL('../../../../bin/beacon.js', import.meta.url));
const REQUIRED = ['--service', 'web', '--listen', '127.0.0.1:8080'];

describe('beacon proxy configuration', () => {
  it('has the documented defaults', () => {
    const config = parseProxyConfig(REQUIRED, {})!;

    assert.equal(config.registry, 'http://127.0.0.1:8500');
    assert.equal(config.mode, 'http');
    assert.equal(config.policy, 'weighted-round-robin');
    assert.equal(config.retries, 2);
    assert.equal(config.tryTimeoutMs, 5000);
    assert.equal(config.timeoutMs, 15_000);
    assert.deepEqual(config.breaker.openTime, { baseMs: 1000, maxMs: 30_000, jitter: 0.2 });
    assert.equal(config.breaker.consecutiveFailures, 5);
    assert.equal(config.panicThreshold, 0.5);
    assert.equal(config.maxEjectedShare, 0.5);
    assert.deepEqual(config.admin, { host: '127.0.0.1', port: 9901 });
    assert.equal(config.tag, undefined);
    assert.equal(config.accessLog, false);
    assert.equal(config.tcpIdleTimeoutMs, 3_600_000);
  });

  it('takes BEACON_* variables, and flags win over them', () => {
    const config = parseProxyConfig([...REQUIRED, '--retries', '4'], { BEACON_RETRIES: '1', BEACON_POLICY: 'random', BEACON_LISTEN: '[::1]:9000' })!;

    assert.equal(config.retries, 4);
    assert.equal(config.policy, 'random');
    assert.deepEqual(config.listen, { host: '127.0.0.1', port: 8080 });
    assert.deepEqual(parseProxyConfig(['--service', 'web'], { BEACON_LISTEN: '[::1]:9000' })!.listen, { host: '::1', port: 9000 });
  });

  const bad: [string, string[], RegExp][] = [
    ['a missing --service', ['--listen', '127.0.0.1:1'], /^--service is required$/],
    ['a missing --listen', ['--service', 'web'], /^--listen is required/],
    ['a service name that is not a DNS label', ['--service', 'Web_1', '--listen', '127.0.0.1:1'], /^--service must be one lower-case DNS label/],
    ['--listen without a port', [...REQUIRED.slice(0, 2), '--listen', 'localhost'], /^--listen must be HOST:PORT/],
    ['a port over 65535', [...REQUIRED.slice(0, 2), '--listen', '127.0.0.1:70000'], /^--listen port must be 0-65535/],
    ['an unknown policy', [...REQUIRED, '--policy', 'fastest'], /^--policy must be one of weighted-round-robin, least-request, random/],
    ['an unknown mode', [...REQUIRED, '--mode', 'udp'], /^--mode must be http or tcp/],
    ['a timeout without a number', [...REQUIRED, '--try-timeout', 'soon'], /^--try-timeout must be a duration/],
    ['a percentage over 100', [...REQUIRED, '--panic-threshold', '150'], /^--panic-threshold must be an integer 0-100/],
    ['an open time cap under the base', [...REQUIRED, '--breaker-open', '10s', '--breaker-open-max', '5s'], /^--breaker-open-max must not be shorter than --breaker-open$/],
    ['a registry that is not a URL', [...REQUIRED, '--registry', 'localhost:8500'], /^--registry must be an http:\/\/ or https:\/\/ URL/],
    ['an unknown flag', [...REQUIRED, '--turbo', '1'], /Unknown option '--turbo'/],
  ];
  for (const [what, argv, message] of bad) {
    it(`refuses ${what} with a message naming the flag`, () => {
      assert.throws(() => parseProxyConfig(argv, {}), (error: Error) => error instanceof ConfigError && message.test(error.message));
    });
  }

  it('the command prints that one line and exits 2', () => {
    const result = spawnSync(process.execPath, [beaconBin, 'proxy', '--service', 'web', '--listen', 'nowhere'], { encoding: 'utf8' });

    assert.equal(result.status, 2);
    assert.match(result.stderr, /^beacon proxy: --listen must be HOST:PORT.*\(see beacon proxy --help\)\n$/);
  });
});
