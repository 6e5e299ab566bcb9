import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { SrvResolver } from '../../../clients/dns/srv-resolver.js';
import { ManualClock } from '../../../contract/clock.js';
import { parse, queryPacket, udpExchange } from '../../support/dns.js';
import { suiteRegistry } from '../../support/suite-registry.js';

const DNS_TTL = 30;

// Each test asks about its own service, so they share one registry and run side by side.
describe('SrvResolver against Beacon DNS', { concurrency: true }, () => {
  const registry = suiteRegistry(['--db', ':memory:', '--dns-ttl', String(DNS_TTL)]);
  const resolverFor = (options: ConstructorParameters<typeof SrvResolver>[0] = {}) => new SrvResolver({ port: registry.server.dnsPort, ...options });

  test('resolve() returns the healthy instances with address, port, priority, weight and TTL', async () => {
    await registry.api.register('web', 'w1', { address: '10.1.0.1', port: 8081, weight: 3 });
    await registry.api.register('web', 'w2', { address: 'fd00::2', port: 8082 });
    await registry.api.register('web', 'sick', { address: '10.1.0.9', port: 8089 });
    await registry.api.heartbeat('web', 'sick', { status: 'critical' });

    const targets = await resolverFor().resolve('web');

    const byPort = targets.slice().sort((a, b) => a.port - b.port);
    assert.deepEqual(byPort, [
      { priority: 1, weight: 3, port: 8081, target: '10-1-0-1.addr.beacon.internal', address: '10.1.0.1', ttl: DNS_TTL },
      { priority: 1, weight: 1, port: 8082, target: 'fd000000000000000000000000000002.addr.beacon.internal', address: 'fd00::2', ttl: DNS_TTL },
    ]);
  });

  test('with a tag it asks _<service>._<tag> and gets only the instances carrying the tag', async () => {
    await registry.api.register('api', 'blue-1', { address: '10.2.0.1', tags: ['blue'] });
    await registry.api.register('api', 'green-1', { address: '10.2.0.2', tags: ['green'] });
    const resolver = resolverFor();

    const targets = await resolver.resolve('api', 'blue');

    assert.equal(resolver.nameOf('api', 'blue'), '_api._blue.service.beacon.internal');
    assert.deepEqual(targets.map((target) => target.address), ['10.2.0.1']);
  });

  test('an answer is reused until its TTL runs out, then asked again', async () => {
    await registry.api.register('cached', 'c1', { address: '10.3.0.1' });
    const clock = new ManualClock();
    const resolver = resolverFor({ clock });
    await resolver.resolve('cached');
    await registry.api.register('cached', 'c2', { address: '10.3.0.2' });

    clock.advance(DNS_TTL * 1000 - 1);
    const beforeExpiry = await resolver.resolve('cached');
    clock.advance(1);
    const afterExpiry = await resolver.resolve('cached');

    assert.deepEqual(beforeExpiry.map((target) => target.address), ['10.3.0.1']);
    assert.deepEqual(afterExpiry.map((target) => target.address).sort(), ['10.3.0.1', '10.3.0.2']);
  });

  test('pick() follows the weights: 1:3 gives the heavier one ~75% of 2,000 picks', async () => {
    await registry.api.register('weighted', 'light', { address: '10.4.0.1', weight: 1 });
    await registry.api.register('weighted', 'heavy', { address: '10.4.0.2', weight: 3 });
    // A clock that never moves: every pick uses the one cached answer. Math.random: over 2,000
    // picks the share's standard deviation is ~1 point, so ±5 points fails about once in 10^7 runs.
    const resolver = resolverFor({ clock: new ManualClock() });

    let heavy = 0;
    for (let i = 0; i < 2_000; i++) if ((await resolver.pick('weighted')).address === '10.4.0.2') heavy++;

    const share = heavy / 2_000;
    assert.ok(share > 0.7 && share < 0.8, `heavy share ${share}`);
  });

  test('pick() takes a warning instance (priority 2) only when no passing one is left', async () => {
    await registry.api.register('tiered', 'passing-1', { address: '10.5.0.1' });
    await registry.api.register('tiered', 'warning-1', { address: '10.5.0.2', weight: 1000 });
    await registry.api.heartbeat('tiered', 'warning-1', { status: 'warning' });
    const clock = new ManualClock();
    const resolver = resolverFor({ clock });

    const whilePassing = new Set<string>();
    for (let i = 0; i < 200; i++) whilePassing.add((await resolver.pick('tiered')).address);
    await registry.api.heartbeat('tiered', 'passing-1', { status: 'critical' });
    clock.advance(DNS_TTL * 1000);
    const withoutPassing = await resolver.pick('tiered');

    assert.deepEqual([...whilePassing], ['10.5.0.1']);
    assert.deepEqual([withoutPassing.address, withoutPassing.priority], ['10.5.0.2', 2]);
  });

  test('an unknown service rejects with ENOTFOUND naming the name', async () => {
    await assert.rejects(resolverFor().resolve('nobody'), {
      code: 'ENOTFOUND',
      message: /^SRV _nobody\._tcp\.service\.beacon\.internal: no such name \(NXDOMAIN\)/,
    });
  });

  test('a service with no healthy instance rejects with ENODATA', async () => {
    await registry.api.register('down', 'd1', { address: '10.6.0.1' });
    await registry.api.heartbeat('down', 'd1', { status: 'critical' });

    await assert.rejects(resolverFor().pick('down'), { code: 'ENODATA', message: /_down\._tcp\.service\.beacon\.internal: no healthy instance/ });
  });

  test('an answer truncated over UDP is asked again over TCP and comes back whole', async () => {
    for (let i = 1; i <= 40; i++) await registry.api.register('large', `l${i}`, { address: `10.7.0.${i}`, port: 9000 + i });
    const overUdp = parse((await udpExchange(registry.server.dnsPort, queryPacket('_large._tcp.service.beacon.internal', 'SRV')))!);
    assert.equal(overUdp.header.tc, 1, 'precondition: the UDP answer is truncated');

    const targets = await resolverFor().resolve('large');

    assert.equal(targets.length, 40);
    assert.ok(targets.every((target) => target.address === `10.7.0.${target.port - 9000}`));
  });

  test('targets whose address did not fit in the additional section are looked up with an A query', async () => {
    for (let i = 1; i <= 8; i++) await registry.api.register('crowded', `c${i}`, { address: `10.8.0.${i}`, port: 9100 + i });
    const overUdp = parse((await udpExchange(registry.server.dnsPort, queryPacket('_crowded._tcp.service.beacon.internal', 'SRV')))!);
    assert.equal(overUdp.header.tc, 0, 'precondition: every SRV record fits');
    assert.ok(overUdp.additionals.length < 8, 'precondition: some addresses were left out');

    const targets = await resolverFor().resolve('crowded');

    assert.equal(targets.length, 8);
    assert.ok(targets.every((target) => target.address === `10.8.0.${target.port - 9100}`));
  });

  test('a bad service name rejects before any query', async () => {
    await assert.rejects(resolverFor().resolve('Not_A_Label'), { code: 'EBADNAME' });
  });
});

describe('SrvResolver without a DNS server', () => {
  test('a query nobody answers rejects with ETIMEOUT after timeoutMs', async () => {
    const resolver = new SrvResolver({ port: 9, timeoutMs: 200 }); // discard port: nothing answers

    // The message names the timeout that ran out: timeoutMs, not the 2 s default.
    await assert.rejects(resolver.resolve('web'), {
      code: 'ETIMEOUT',
      message: /^SRV _web\._tcp\.service\.beacon\.internal over udp to 127\.0\.0\.1:9: DNS query timed out after 200ms/,
    });
  });
});
