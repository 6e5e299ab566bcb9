import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { once } from 'node:events';
import { Resolver } from 'node:dns/promises';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { promisify } from 'node:util';
import DNS from 'dns2';
import { parse, queryPacket, tcpExchange, udpExchange } from '../support/dns.js';
import { waitFor } from '../support/events.js';
import { client } from '../support/http.js';
import { type ServerProcess, startServerProcess } from '../support/server-process.js';
import { tempDir } from '../support/temp.js';

const run = promisify(execFile);

/**
 * The DNS frontend over real sockets, asked by three independent clients (Node's resolver,
 * dns2, dig) and through a real forwarding resolver (dnsmasq). .ci/run installs dig and dnsmasq.
 */
describe('DNS over UDP and TCP', () => {
  let server: ServerProcess;
  let api: ReturnType<typeof client>;
  let resolver: Resolver;

  before(async () => {
    server = await startServerProcess(['--db', join(tempDir({ after }), 'beacon.db'), '--domain', 'beacon.internal']);
    api = client(server.url);
    await api.register('web', 'w1', { address: '10.1.0.1', port: 8081, tags: ['blue'], weight: 3 });
    await api.register('web', 'w2', { address: '10.1.0.2', port: 8082 });
    await api.register('web', 'w6', { address: 'fd00::6', port: 8086 });
    await api.register('web', 'sick', { address: '10.1.0.9', port: 8089 });
    await api.heartbeat('web', 'sick', { status: 'critical' });
    resolver = new Resolver({ timeout: 2_000, tries: 1 });
    resolver.setServers([`127.0.0.1:${server.dnsPort}`]);
  });
  after(() => server.stop());

  test("Node's resolver gets the healthy A, AAAA and SRV records", async () => {
    assert.deepEqual((await resolver.resolve4('web.service.beacon.internal')).sort(), ['10.1.0.1', '10.1.0.2']);
    assert.deepEqual(await resolver.resolve6('web.service.beacon.internal'), ['fd00::6']);
    const srv = await resolver.resolveSrv('_web._tcp.service.beacon.internal');
    assert.deepEqual(srv.map((record) => record.port).sort(), [8081, 8082, 8086]);
    assert.deepEqual((await resolver.resolve4('blue.web.service.beacon.internal')), ['10.1.0.1']);
    assert.deepEqual(await resolver.resolve4(srv.find((record) => record.port === 8081)!.name), ['10.1.0.1']);
  });

  test("Node's resolver sees NXDOMAIN, NODATA and REFUSED", async () => {
    await assert.rejects(resolver.resolve4('nope.service.beacon.internal'), { code: 'ENOTFOUND' });
    await assert.rejects(resolver.resolve4('_web._tcp.service.beacon.internal'), { code: 'ENODATA' });
    await assert.rejects(resolver.resolve4('example.com'), { code: 'EREFUSED' });
  });

  test("dns2's UDP and TCP clients get the same SRV answer with additional addresses", async () => {
    for (const transport of ['UDP', 'TCP'] as const) {
      const resolve =
        transport === 'UDP'
          ? DNS.UDPClient({ dns: '127.0.0.1', port: server.dnsPort, retryOverTCP: false })
          : DNS.TCPClient({ dns: '127.0.0.1', port: server.dnsPort });
      const answer = await resolve('web.service.beacon.internal', 'SRV');
      assert.equal(answer.header.aa, 1, transport);
      assert.deepEqual(answer.answers.map((record) => record.port).sort(), [8081, 8082, 8086], transport);
      assert.equal(answer.additionals.length, 3, transport);
    }
  });

  test('dig asks over UDP and TCP and sees an authoritative answer, no recursion', async () => {
    const dig = (...args: string[]) => run('dig', [`@127.0.0.1`, '-p', String(server.dnsPort), '+tries=1', '+time=2', ...args]);
    const { stdout } = await dig('web.service.beacon.internal', 'SRV');
    assert.match(stdout, /status: NOERROR/);
    assert.match(stdout, /flags: qr aa rd;/);
    assert.match(stdout, /ANSWER: 3, AUTHORITY: 0, ADDITIONAL: 4/);
    assert.match(stdout, /IN\s+SRV\s+1 3 8081 10-1-0-1\.addr\.beacon\.internal\./);
    const tcp = await dig('+tcp', '+short', 'web.service.beacon.internal', 'A');
    assert.deepEqual(tcp.stdout.trim().split('\n').sort(), ['10.1.0.1', '10.1.0.2']);
    const negative = await dig('nope.service.beacon.internal', 'A');
    assert.match(negative.stdout, /status: NXDOMAIN/);
    assert.match(negative.stdout, /AUTHORITY SECTION:\nbeacon\.internal\.\s+5\s+IN\s+SOA\s+ns\.beacon\.internal\. hostmaster\.beacon\.internal\./);
  });

  test('a deregistration shows in the very next query', async () => {
    await api.register('fresh', 'f1', { address: '10.2.0.1' });
    await api.register('fresh', 'f2', { address: '10.2.0.2' });
    assert.equal((await resolver.resolve4('fresh.service.beacon.internal')).length, 2);
    await api.delete('/v1/services/fresh/instances/f1');
    assert.deepEqual(await resolver.resolve4('fresh.service.beacon.internal'), ['10.2.0.2']);
  });

  test('a 100-instance answer is cut to whole records with TC over UDP, and complete over TCP', async () => {
    for (let i = 0; i < 100; i++) await api.register('big', `b${i}`, { address: `10.3.0.${i + 1}` });
    const plain = await udpExchange(server.dnsPort, queryPacket('big.service.beacon.internal', 'SRV'));
    assert.ok(plain && plain.length <= 512);
    assert.equal(parse(plain).header.tc, 1);
    const edns = await udpExchange(server.dnsPort, queryPacket('big.service.beacon.internal', 'SRV', { edns: 4096 }));
    assert.ok(edns && edns.length <= 1232 && edns.length > 512);
    assert.equal(parse(edns).header.tc, 1);
    const [full] = await tcpExchange(server.dnsPort, [queryPacket('big.service.beacon.internal', 'SRV')]);
    assert.equal(parse(full!).answers.length, 100);
    // Node's resolver retries a truncated answer over TCP by itself.
    assert.equal((await resolver.resolve4('big.service.beacon.internal')).length, 100);
  });

  test('TCP answers pipelined queries in order on one connection', async () => {
    const ids = [11, 12, 13, 14];
    const answers = await tcpExchange(
      server.dnsPort,
      ids.map((id) => queryPacket('web.service.beacon.internal', 'A', { id })),
    );
    assert.deepEqual(answers.map((answer) => parse(answer).header.id), ids);
  });

  test('dnsmasq forwarding the zone to Beacon resolves through it', async (t) => {
    const port = await freePort();
    const dnsmasq = spawn('dnsmasq', [
      '--keep-in-foreground', '--no-daemon', '--no-resolv', '--no-hosts', '--conf-file=/dev/null',
      '--listen-address=127.0.0.1', '--bind-interfaces', `--port=${port}`, '--user=root',
      `--server=/beacon.internal/127.0.0.1#${server.dnsPort}`, '--cache-size=0', '--log-facility=-',
    ], { stdio: ['ignore', 'ignore', 'pipe'] });
    t.after(() => dnsmasq.kill());
    let log = '';
    dnsmasq.stderr.on('data', (chunk: Buffer) => (log += chunk));
    // dnsmasq binds its listeners before it logs that it started.
    await waitFor(
      () => {
        if (dnsmasq.exitCode !== null) throw new Error(`dnsmasq exited with ${dnsmasq.exitCode}:\n${log}`);
        return /started, version/.test(log);
      },
      { what: () => `dnsmasq to log that it started:\n${log}` },
    );
    const viaDnsmasq = new Resolver({ timeout: 2_000, tries: 1 });
    viaDnsmasq.setServers([`127.0.0.1:${port}`]);
    const addresses = await viaDnsmasq.resolve4('web.service.beacon.internal');
    assert.deepEqual(addresses.sort(), ['10.1.0.1', '10.1.0.2']);
    const srv = await viaDnsmasq.resolveSrv('web.service.beacon.internal');
    assert.equal(srv.length, 3);
    await assert.rejects(viaDnsmasq.resolve4('nope.service.beacon.internal'), { code: 'ENOTFOUND' });
  });
});

describe('DNS over IPv6', () => {
  test('an IPv6 --bind serves DNS on IPv6', async (t) => {
    const server = await startServerProcess(['--db', join(tempDir(t), 'b.db'), '--bind', '::1']);
    t.after(() => server.stop());
    await client(server.url).register('web', 'w1', { address: '10.9.0.1' });
    const resolver = new Resolver({ timeout: 2_000, tries: 1 });
    resolver.setServers([`[::1]:${server.dnsPort}`]);
    assert.deepEqual(await resolver.resolve4('web.service.beacon.internal'), ['10.9.0.1']);
  });
});

async function freePort(): Promise<number> {
  const probe = createServer();
  probe.listen(0, '127.0.0.1');
  await once(probe, 'listening');
  const { port } = probe.address() as { port: number };
  probe.close();
  return port;
}
