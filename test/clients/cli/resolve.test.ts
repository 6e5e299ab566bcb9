import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { runCli } from '../../support/cli.js';
import { suiteRegistry } from '../../support/suite-registry.js';

describe('beacon resolve: a service through Beacon\'s DNS', () => {
  const registry = suiteRegistry();
  const dns = () => ['--dns', `127.0.0.1:${registry.server.dnsPort}`];

  before(async () => {
    await registry.api.register('web', 'web-1', { address: '127.0.0.1', port: 8080, weight: 5, tags: ['blue'], ttl: 300 });
    await registry.api.register('web', 'web-2', { address: '::1', port: 8081, ttl: 300 });
    await registry.api.register('db', 'db-1', { address: '127.0.0.2', port: 5432, ttl: 300 });
    await registry.api.put('/v1/services/db/instances/db-1/maintenance', { enabled: true });
  });

  it('SRV (the default) lists priority, weight, port, target and address of each healthy instance', async () => {
    const [human, machine] = await Promise.all([runCli(['resolve', 'web', ...dns()]), runCli(['resolve', 'web', ...dns(), '--json'])]);

    assert.equal(human.code, 0, human.stderr);
    const [header, ...rows] = human.stdout.trimEnd().split('\n').map((line) => line.split(/\s+/));
    assert.deepEqual(header, ['PRIORITY', 'WEIGHT', 'PORT', 'TARGET', 'ADDRESS', 'TTL']);
    assert.deepEqual(rows.map(([priority, weight, port, , address]) => [priority, weight, port, address]).sort(), [
      ['1', '1', '8081', '::1'],
      ['1', '5', '8080', '127.0.0.1'],
    ]);
    const targets = JSON.parse(machine.stdout) as { port: number; address: string; target: string }[];
    assert.deepEqual(targets.map(({ port, address }) => `${address}:${port}`).sort(), ['127.0.0.1:8080', '::1:8081']);
    assert.ok(targets.every(({ target }) => target.endsWith('.beacon.internal')));
  });

  it('--tag narrows the answer, --type a and aaaa ask for addresses', async () => {
    const [tagged, a, aaaa] = await Promise.all([
      runCli(['resolve', 'web', '--tag', 'blue', ...dns(), '--json']),
      runCli(['resolve', 'web', '--type', 'a', ...dns()]),
      runCli(['resolve', 'web', '--type', 'aaaa', ...dns(), '--json']),
    ]);

    assert.deepEqual((JSON.parse(tagged.stdout) as { port: number }[]).map(({ port }) => port), [8080]);
    assert.deepEqual(a.stdout.trimEnd().split('\n').map((line) => line.split(/\s+/)[0]), ['ADDRESS', '127.0.0.1']);
    assert.deepEqual((JSON.parse(aaaa.stdout) as { address: string }[]).map(({ address }) => address), ['::1']);
  });

  it('an unknown service, or one without a healthy instance, exits 1 with the reason', async () => {
    const [unknown, noneHealthy] = await Promise.all([runCli(['resolve', 'nope', ...dns()]), runCli(['resolve', 'db', ...dns()])]);

    assert.deepEqual([unknown.code, unknown.stdout], [1, '']);
    assert.match(unknown.stderr, /^beacon resolve: SRV _nope\._tcp\.service\.beacon\.internal: no such name \(NXDOMAIN\)[^\n]*\n$/);
    assert.deepEqual([noneHealthy.code, noneHealthy.stdout], [1, '']);
    assert.match(noneHealthy.stderr, /^beacon resolve: SRV _db\._tcp\.service\.beacon\.internal: no healthy instance/);
  });

  it('a DNS server that does not answer exits 3 after --timeout', async () => {
    // The registry's HTTP port: TCP, so nothing answers DNS over UDP there.
    const port = new URL(registry.server.url).port;

    const { code, stderr } = await runCli(['resolve', 'web', '--dns', `127.0.0.1:${port}`, '--timeout', '300ms']);

    assert.equal(code, 3);
    assert.match(stderr, /^beacon resolve: SRV _web\._tcp\.service\.beacon\.internal over udp to 127\.0\.0\.1:\d+: .*timed out/);
  });
});
