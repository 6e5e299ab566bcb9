import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { Responder, type Transport } from '../../../server/dns/responder.js';
import { ZoneRecords } from '../../../server/dns/records.js';
import { Zone } from '../../../server/dns/zone.js';
import { parse, Packet, queryPacket, type QueryOptions } from '../../support/dns.js';
import { registration, registryWithClock } from '../../support/registry.js';

const DOMAIN = 'beacon.internal';

function setup(udpMax = 1232) {
  const { clock, registry } = registryWithClock();
  const zone = new Zone(DOMAIN);
  const responder = new Responder({
    zone,
    records: new ZoneRecords(registry, zone, 5),
    ttl: 5,
    udpMax,
    serial: () => registry.catalogIndex(),
    nameserverAddress: '127.0.0.1',
  });
  const ask = (name: string, type: keyof typeof Packet.TYPE, options: QueryOptions = {}, transport: Transport = 'udp') => {
    const outcome = responder.respond(queryPacket(name, type, options), transport);
    assert.ok(outcome.response, 'an answer was sent');
    return { raw: outcome.response, packet: parse(outcome.response) };
  };
  return { clock, registry, responder, ask };
}

const RCODE = { NOERROR: 0, FORMERR: 1, NXDOMAIN: 3, NOTIMP: 4, REFUSED: 5 };

/** dns2 prints IPv6 addresses in varying forms; compare them canonically. */
const ip = (address: string | undefined) => (address?.includes(':') ? new URL(`http://[${address}]`).hostname.slice(1, -1) : address);

describe('DNS answers', () => {
  test('A lists the healthy IPv4 instances, authoritative, without recursion, echoing the question as asked', () => {
    const { registry, ask } = setup();
    registry.register('web', 'w1', registration({ address: '10.0.0.1' }));
    registry.register('web', 'w2', registration({ address: '10.0.0.2' }));
    registry.register('web', 'w6', registration({ address: 'fd00::6' }));
    const { packet } = ask('WeB.Service.Beacon.Internal', 'A');
    assert.equal(packet.header.rcode, RCODE.NOERROR);
    assert.equal(packet.header.aa, 1);
    assert.equal(packet.header.ra, 0);
    assert.equal(packet.header.rd, 1, 'RD is copied from the query');
    assert.equal(packet.questions[0]?.name, 'WeB.Service.Beacon.Internal');
    assert.deepEqual(packet.answers.map((a) => a.address).sort(), ['10.0.0.1', '10.0.0.2']);
    assert.deepEqual(new Set(packet.answers.map((a) => a.ttl)), new Set([5]));
  });

  test('ANY on a service gets one synthesized HINFO "RFC8482" instead of its records (RFC 8482), whatever the fleet size', () => {
    const { registry, ask } = setup();
    for (let i = 0; i < 100; i++) registry.register('big', `b${i}`, registration({ address: `10.0.${i >> 8}.${i & 255}` }));

    const { packet, raw } = ask('big.service.beacon.internal', 'ANY');
    const srv = ask('big.service.beacon.internal', 'SRV');

    assert.equal(packet.header.rcode, RCODE.NOERROR);
    assert.equal(packet.header.tc, 0);
    assert.equal(packet.answers.length, 1);
    assert.equal(packet.answers[0]!.type, Packet.TYPE.HINFO);
    assert.equal(packet.additionals.length, 0);
    // Header, question and one small record: far below what SRV answers for the same name.
    assert.ok(raw.length < 80, `${raw.length} bytes`);
    assert.ok(srv.raw.length > 500);
    assert.ok(raw.includes(Buffer.from('\x07RFC8482\x00', 'latin1')));
  });

  test('AAAA lists the healthy IPv6 instances', () => {
    const { registry, ask } = setup();
    registry.register('web', 'w1', registration({ address: '10.0.0.1' }));
    registry.register('web', 'w6', registration({ address: 'fd00::6' }));
    const { packet } = ask('web.service.beacon.internal', 'AAAA');
    assert.deepEqual(packet.answers.map((a) => ip(a.address)), ['fd00::6']);
  });

  test('SRV gives priority 1 to passing and 2 to warning, targets that resolve by themselves, and their addresses as additional records', () => {
    const { registry, ask } = setup();
    registry.register('web', 'w1', registration({ address: '10.0.0.1', port: 8081, weight: 10 }));
    registry.register('web', 'w2', registration({ address: 'fd00::2', port: 8082 }));
    registry.heartbeat('web', 'w2', { status: 'warning' });
    const { packet, raw } = ask('web.service.beacon.internal', 'SRV');
    assert.deepEqual(
      packet.answers.map((a) => [a.priority, a.weight, a.port, a.target]),
      [
        [1, 10, 8081, '10-0-0-1.addr.beacon.internal'],
        [2, 1, 8082, 'fd000000000000000000000000000002.addr.beacon.internal'],
      ],
    );
    assert.deepEqual(
      packet.additionals.map((a) => [a.name, ip(a.address)]),
      [
        ['10-0-0-1.addr.beacon.internal', '10.0.0.1'],
        ['fd000000000000000000000000000002.addr.beacon.internal', 'fd00::2'],
      ],
    );
    // RFC 2782: the target is written out, never compressed.
    const target = Buffer.from('\x0810-0-0-1\x04addr\x06beacon\x08internal\x00', 'latin1');
    assert.ok(raw.includes(target), 'the SRV target is uncompressed');
  });

  test('the address target names answer by themselves', () => {
    const { ask } = setup();
    assert.equal(ask('10-0-0-1.addr.beacon.internal', 'A').packet.answers[0]?.address, '10.0.0.1');
    assert.equal(ip(ask('fd000000000000000000000000000002.addr.beacon.internal', 'AAAA').packet.answers[0]?.address), 'fd00::2');
    assert.equal(ask('999-0-0-1.addr.beacon.internal', 'A').packet.header.rcode, RCODE.NXDOMAIN);
  });

  test('tag and RFC 2782 names filter by tag', () => {
    const { registry, ask } = setup();
    registry.register('web', 'blue', registration({ address: '10.0.0.1', tags: ['blue'] }));
    registry.register('web', 'green', registration({ address: '10.0.0.2', tags: ['green'] }));
    assert.deepEqual(ask('blue.web.service.beacon.internal', 'A').packet.answers.map((a) => a.address), ['10.0.0.1']);
    assert.deepEqual(ask('_web._green.service.beacon.internal', 'SRV').packet.answers.map((a) => a.target), ['10-0-0-2.addr.beacon.internal']);
    assert.equal(ask('_web._tcp.service.beacon.internal', 'SRV').packet.answers.length, 2);
    assert.equal(ask('red.web.service.beacon.internal', 'A').packet.header.rcode, RCODE.NXDOMAIN);
  });

  test('critical and maintenance instances are never served; a service with none healthy answers no data with the SOA', () => {
    const { clock, registry, ask } = setup();
    registry.register('web', 'held', registration({ address: '10.0.0.1' }));
    registry.register('web', 'dead', registration({ address: '10.0.0.2', ttl: 1 }));
    registry.setMaintenance('web', 'held', { enabled: true });
    clock.advance(1_000);
    registry.sweep();
    const { packet } = ask('web.service.beacon.internal', 'A');
    assert.equal(packet.header.rcode, RCODE.NOERROR);
    assert.equal(packet.answers.length, 0);
    assert.equal(packet.authorities[0]?.type, Packet.TYPE.SOA);
    assert.equal(packet.authorities[0]?.minimum, 5);
    assert.equal(packet.authorities[0]?.name, 'beacon.internal');
  });

  test('negative answers: NXDOMAIN for unknown names, no data for existing names without that type, both with the SOA', () => {
    const { registry, ask } = setup();
    registry.register('web', 'w1', registration({ address: '10.0.0.1' }));
    for (const [name, type, rcode] of [
      ['nope.service.beacon.internal', 'A', RCODE.NXDOMAIN],
      ['x.y.z.beacon.internal', 'A', RCODE.NXDOMAIN],
      ['web.service.beacon.internal', 'AAAA', RCODE.NOERROR],
      ['web.service.beacon.internal', 'MX', RCODE.NOERROR],
      ['service.beacon.internal', 'A', RCODE.NOERROR],
      ['_web._tcp.service.beacon.internal', 'A', RCODE.NOERROR],
    ] as const) {
      const { packet } = ask(name, type);
      assert.equal(packet.header.rcode, rcode, `${name} ${type}`);
      assert.equal(packet.answers.length, 0, `${name} ${type}`);
      assert.equal(packet.authorities[0]?.type, Packet.TYPE.SOA, `${name} ${type}`);
    }
  });

  test('the apex answers SOA and NS, and the name server resolves', () => {
    const { registry, ask } = setup();
    registry.register('web', 'w1', registration());
    const soa = ask('beacon.internal', 'SOA').packet.answers[0];
    assert.equal(soa?.primary, 'ns.beacon.internal');
    assert.equal(soa?.admin, 'hostmaster.beacon.internal');
    assert.equal(soa?.serial, registry.catalogIndex());
    assert.equal(ask('beacon.internal', 'NS').packet.answers[0]?.ns, 'ns.beacon.internal');
    assert.equal(ask('ns.beacon.internal', 'A').packet.answers[0]?.address, '127.0.0.1');
  });

  test('REFUSED outside the zone and for other classes, without AA', () => {
    const { ask, responder } = setup();
    const { packet } = ask('example.com', 'A');
    assert.equal(packet.header.rcode, RCODE.REFUSED);
    assert.equal(packet.header.aa, 0);
    assert.equal(packet.header.ra, 0);
    assert.equal(ask('internal', 'A').packet.header.rcode, RCODE.REFUSED);
    const chaos = queryPacket('version.bind', 'TXT');
    chaos.writeUInt16BE(3, chaos.length - 2); // class CH
    assert.equal(parse(responder.respond(chaos, 'udp').response!).header.rcode, RCODE.REFUSED);
  });

  test('NOTIMP for other opcodes, FORMERR for two questions or a broken question, silence for no header or a response', () => {
    const { responder } = setup();
    const query = queryPacket('web.service.beacon.internal', 'A');
    const status = Buffer.from(query);
    status[2] = (status[2]! & 0x87) | (2 << 3); // opcode 2: STATUS
    assert.equal(parse(responder.respond(status, 'udp').response!).header.rcode, RCODE.NOTIMP);

    const two = Buffer.from(query);
    two.writeUInt16BE(2, 4);
    assert.equal(responder.respond(two, 'udp').response!.readUInt16BE(2) & 0xf, RCODE.FORMERR);

    const cut = query.subarray(0, query.length - 3);
    const formerr = responder.respond(cut, 'udp').response!;
    assert.equal(formerr.readUInt16BE(2) & 0xf, RCODE.FORMERR);
    assert.equal(formerr.readUInt16BE(0), 4242, 'the id is echoed');

    assert.deepEqual(responder.respond(query.subarray(0, 11), 'udp'), {});
    const response = Buffer.from(query);
    response[2] = response[2]! | 0x80;
    assert.deepEqual(responder.respond(response, 'udp'), {});
  });

  test('an unknown EDNS version gets BADVERS', () => {
    const { responder } = setup();
    const query = queryPacket('web.service.beacon.internal', 'A', { edns: 1232 });
    query[query.length - 11 + 6] = 1; // OPT TTL byte 2: version 1
    const raw = responder.respond(query, 'udp').response!;
    assert.equal(raw.readUInt16BE(2) & 0xf, 0, 'BADVERS = 16: header rcode bits 0...');
    const opt = parse(raw).additionals.find((a) => a.type === Packet.TYPE.EDNS);
    assert.equal(opt?.extendedRcode, 1, '...and extended rcode 1 in the OPT record');
  });
});

describe('DNS answer sizes', () => {
  function hundred() {
    const context = setup();
    for (let i = 0; i < 100; i++) context.registry.register('big', `i${i}`, registration({ address: `10.0.${i >> 8}.${i & 0xff}` }));
    return context;
  }

  test('without EDNS an answer fits 512 bytes: whole records, TC set', () => {
    const { ask } = hundred();
    for (const type of ['A', 'SRV'] as const) {
      const { raw, packet } = ask('big.service.beacon.internal', type);
      assert.ok(raw.length <= 512, `${type}: ${raw.length} bytes`);
      assert.equal(packet.header.tc, 1, type);
      assert.ok(packet.answers.length > 5, `${type}: usable records (${packet.answers.length})`);
      assert.equal(packet.answers.length, packet.header.ancount, 'only whole records');
      assert.deepEqual(packet.errors, []);
    }
  });

  test('with EDNS the offered size is used up to --dns-udp-max, and an OPT record comes back', () => {
    const { ask } = hundred();
    const { raw, packet } = ask('big.service.beacon.internal', 'SRV', { edns: 4096 });
    assert.ok(raw.length <= 1232 && raw.length > 1000, `${raw.length} bytes`);
    assert.equal(packet.header.tc, 1);
    const opt = packet.additionals.find((a) => a.type === Packet.TYPE.EDNS);
    assert.equal(opt?.class, 1232);
    const small = ask('big.service.beacon.internal', 'A', { edns: 700 });
    assert.ok(small.raw.length <= 700 && small.raw.length > 600, `${small.raw.length} bytes`);
  });

  test('an answer that fits is not truncated', () => {
    const { registry, ask } = setup();
    registry.register('web', 'w1', registration());
    const { packet } = ask('web.service.beacon.internal', 'SRV', { edns: 1232 });
    assert.equal(packet.header.tc, 0);
    assert.equal(packet.answers.length, 1);
  });

  test('over TCP the whole answer comes back', () => {
    const { ask } = hundred();
    const { packet } = ask('big.service.beacon.internal', 'SRV', {}, 'tcp');
    assert.equal(packet.header.tc, 0);
    assert.equal(packet.answers.length, 100);
    assert.equal(packet.additionals.length, 100);
  });
});

describe('DNS freshness and order', () => {
  test('a deregistration, an expiry, maintenance or a weight change shows in the very next answer', () => {
    const { clock, registry, ask } = setup();
    registry.register('web', 'w1', registration({ address: '10.0.0.1', ttl: 1 }));
    registry.register('web', 'w2', registration({ address: '10.0.0.2', ttl: 100 }));
    registry.register('web', 'w3', registration({ address: '10.0.0.3', ttl: 100 }));
    const addresses = () => ask('web.service.beacon.internal', 'A').packet.answers.map((a) => a.address).sort();
    assert.deepEqual(addresses(), ['10.0.0.1', '10.0.0.2', '10.0.0.3']);
    registry.deregister('web', 'w3');
    assert.deepEqual(addresses(), ['10.0.0.1', '10.0.0.2']);
    clock.advance(1_000);
    registry.sweep();
    assert.deepEqual(addresses(), ['10.0.0.2']);
    registry.setMaintenance('web', 'w2', { enabled: true });
    assert.deepEqual(addresses(), []);
    registry.setMaintenance('web', 'w2', { enabled: false });
    registry.register('web', 'w2', registration({ address: '10.0.0.2', weight: 7 }));
    assert.deepEqual(ask('web.service.beacon.internal', 'SRV').packet.answers.map((a) => a.weight), [7]);
  });

  test('weights 1:3 put the heavier instance first in 75% ± 3 points of 4,000 answers, for SRV and A', () => {
    const { registry, ask } = setup();
    registry.register('web', 'light', registration({ address: '10.0.0.1', weight: 1 }));
    registry.register('web', 'heavy', registration({ address: '10.0.0.3', weight: 3 }));
    for (const type of ['SRV', 'A'] as const) {
      let heavyFirst = 0;
      for (let i = 0; i < 4_000; i++) {
        const first = ask('web.service.beacon.internal', type).packet.answers[0];
        if ((first?.port === 8080 && first.weight === 3) || first?.address === '10.0.0.3') heavyFirst += 1;
      }
      const share = heavyFirst / 4_000;
      assert.ok(Math.abs(share - 0.75) <= 0.03, `${type}: heavier first in ${(share * 100).toFixed(1)}%`);
    }
  });
});
