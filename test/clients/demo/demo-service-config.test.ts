import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { defaultInstanceId, parseDemoServiceConfig } from '../../../clients/demo/demo-service-config.js';

describe('beacon demo-service configuration', () => {
  it('has the documented defaults', () => {
    const config = parseDemoServiceConfig([], {})!;

    assert.equal(config.service, 'web');
    assert.equal(config.id, undefined);
    assert.deepEqual(config.listen, { host: '127.0.0.1', port: 9000 });
    assert.equal(config.advertise, undefined);
    assert.equal(config.registry, 'http://127.0.0.1:8500');
    assert.equal(config.weight, 1);
    assert.deepEqual(config.tags, []);
    assert.equal(config.ttl, 15);
  });

  it('takes tags comma-separated', () => {
    assert.deepEqual(parseDemoServiceConfig(['--tag', 'blue, canary'], {})!.tags, ['blue', 'canary']);
  });

  const bad: [string, string[], RegExp][] = [
    ['an --advertise that is a name', ['--advertise', 'web-1.local'], /^--advertise must be an IPv4 or IPv6 literal/],
    ['a tag that is not a DNS label', ['--tag', 'Blue'], /^--tag must be lower-case DNS labels/],
    ['a repeated tag', ['--tag', 'a,a'], /^--tag must not repeat a tag/],
    ['an id with a slash', ['--id', 'web/1'], /^--id must be 1-128 of/],
    ['a weight over 65535', ['--weight', '70000'], /^--weight must be an integer 0-65535/],
  ];
  for (const [what, argv, message] of bad) {
    it(`refuses ${what}, naming the flag`, () => {
      assert.throws(() => parseDemoServiceConfig(argv, {}), { message });
    });
  }

  it('derives an instance id from the service, host name and port, in the characters an id allows', () => {
    assert.equal(defaultInstanceId('web', 9000, 'a1b2c3d4e5f6'), 'web-a1b2c3d4e5f6-9000');
    assert.equal(defaultInstanceId('web', 9000, 'host name:x'), 'web-host-name-x-9000');
  });
});
