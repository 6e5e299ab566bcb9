import assert from 'node:assert/strict';
import { createSocket } from 'node:dgram';
import { connect } from 'node:net';
import { join } from 'node:path';
import { test } from 'node:test';
import { parse, queryPacket, udpExchange } from '../support/dns.js';
import { client } from '../support/http.js';
import { startServerProcess } from '../support/server-process.js';
import { tempDir } from '../support/temp.js';
import { seededRandom } from '../support/seeded-random.js';


const TYPES = ['A', 'AAAA', 'SRV', 'SOA', 'NS', 'ANY', 'TXT', 'MX'] as const;
const NAMES = ['web.service.beacon.internal', '_web._tcp.service.beacon.internal', 'blue.web.service.beacon.internal', 'beacon.internal', 'example.com', '10-0-0-1.addr.beacon.internal'];

/** One hostile packet: random bytes, or a valid query broken in one of the ways resolvers meet. */
function hostilePacket(random: () => number): Buffer {
  const int = (n: number) => Math.floor(random() * n);
  const base = queryPacket(NAMES[int(NAMES.length)]!, TYPES[int(TYPES.length)]!, random() < 0.5 ? { edns: 512 + int(4000), id: int(65536) } : { id: int(65536) });
  const packet = Buffer.from(base);
  switch (int(10)) {
    case 0: // pure noise of any length, including shorter than a header
      return Buffer.from(Array.from({ length: int(600) }, () => int(256)));
    case 1: // a short header
      return packet.subarray(0, int(12));
    case 2: // counts that lie
      packet.writeUInt16BE(int(65536), 4 + 2 * int(4));
      return packet;
    case 3: { // a compression pointer loop in the question
      const loop = Buffer.from(packet.subarray(0, 12));
      return Buffer.concat([loop, Buffer.from([0xc0, 12, 0, 1, 0, 1])]);
    }
    case 4: // a label longer than 63
      packet[12] = 64 + int(128);
      return packet;
    case 5: // every opcode, QR set or not
      packet[2] = int(256);
      return packet;
    case 6: // truncated anywhere
      return packet.subarray(0, int(packet.length));
    case 7: { // random bytes flipped
      for (let i = 0; i < 1 + int(6); i++) packet[int(packet.length)] = int(256);
      return packet;
    }
    case 8: // garbage appended (and a lying ARCOUNT)
      packet.writeUInt16BE(1 + int(3), 10);
      return Buffer.concat([packet, Buffer.from(Array.from({ length: int(40) }, () => int(256)))]);
    default: // a name of 255+ bytes made of maximal labels
      return Buffer.concat([packet.subarray(0, 12), Buffer.concat(Array.from({ length: 5 }, () => Buffer.concat([Buffer.from([63]), Buffer.alloc(63, 0x61)]))), Buffer.from([0, 0, 1, 0, 1])]);
  }
}

test('100,000 random and mutated packets over UDP and TCP: the server stays up, answers correctly, and counts rather than logs', async (t) => {
  const server = await startServerProcess(['--db', join(tempDir(t), 'b.db')]);
  t.after(() => server.stop());
  // A TTL far past the run, so a slow machine's fuzzing never outlasts the instance it asks for.
  await client(server.url).register('web', 'w1', { address: '10.0.0.1', tags: ['blue'], ttl: 3600 });
  const seed = Number(process.env.FUZZ_SEED ?? Date.now() % 1_000_000);
  const random = seededRandom(seed);
  const logLinesBefore = server.output().split('\n').length;

  // UDP: 95,000 packets, sent in bursts small enough not to overflow the socket buffers.
  const socket = createSocket('udp4');
  t.after(() => socket.close());
  const udpPackets = 95_000;
  const ping = queryPacket('web.service.beacon.internal', 'A');
  for (let sent = 0; sent < udpPackets; ) {
    const burst = Math.min(200, udpPackets - sent);
    await Promise.all(
      Array.from({ length: burst }, () => new Promise<void>((resolve) => socket.send(hostilePacket(random), server.dnsPort, '127.0.0.1', () => resolve()))),
    );
    sent += burst;
    // Paced by the server: the answer to a query sent after the burst comes once it has read the
    // whole burst. (Pacing only: the answer is checked after the fuzzing.)
    await udpExchange(server.dnsPort, ping);
  }

  // TCP: 5,000 packets framed (lengths honest or lying) over a few connections.
  for (let connection = 0; connection < 10; connection++) {
    await new Promise<void>((resolve) => {
      const tcp = connect(server.dnsPort, '127.0.0.1');
      tcp.on('error', () => resolve());
      tcp.on('close', () => resolve());
      tcp.on('data', () => {});
      tcp.on('connect', () => {
        const frames = Array.from({ length: 500 }, () => {
          const packet = hostilePacket(random);
          const length = random() < 0.9 ? packet.length : Math.floor(random() * 65536);
          return Buffer.concat([Buffer.from([length >> 8, length & 0xff]), packet]);
        });
        tcp.end(Buffer.concat(frames));
      });
      setTimeout(() => tcp.destroy(), 2_000);
    });
  }

  const answer = await udpExchange(server.dnsPort, queryPacket('web.service.beacon.internal', 'A'));
  assert.ok(answer, `the server answers after the fuzzing (seed ${seed})`);
  const packet = parse(answer);
  assert.equal(packet.header.rcode, 0);
  assert.deepEqual(packet.answers.map((record) => record.address), ['10.0.0.1']);
  assert.equal(server.child.exitCode, null, 'still running');

  const metrics = await (await fetch(`${server.url}/metrics`)).text();
  const total = (name: string) =>
    [...metrics.matchAll(new RegExp(`^${name}\\{[^}]*\\} (\\d+)`, 'gm'))].reduce((sum, match) => sum + Number(match[1]), 0);
  assert.ok(total('beacon_dns_dropped_total') > 1_000, 'dropped packets are counted');
  assert.ok(total('beacon_dns_responses_total') > 10_000, 'answers are counted');
  assert.equal(total('beacon_dns_failures_total'), 0, `no query made the responder fail (seed ${seed})`);
  assert.match(metrics, /beacon_dns_responses_total\{transport="udp",rcode="FORMERR"\} \d+/);
  assert.match(metrics, /beacon_dns_responses_total\{transport="udp",rcode="NOTIMP"\} \d+/);
  const newLogLines = server.output().split('\n').length - logLinesBefore;
  assert.ok(newLogLines < 5, `bad packets are not logged one by one (${newLogLines} new log lines)`);
});
