import assert from 'node:assert/strict';
import { createSocket } from 'node:dgram';
import { once } from 'node:events';
import { connect, type Socket } from 'node:net';
import { describe, test } from 'node:test';
import { setImmediate as nextTurn } from 'node:timers/promises';
import pino from 'pino';
import { Responder } from '../../../server/dns/responder.js';
import { ZoneRecords } from '../../../server/dns/records.js';
import { startDnsServer } from '../../../server/dns/server.js';
import { Zone } from '../../../server/dns/zone.js';
import { Metrics } from '../../../server/metrics/metrics.js';
import { parse, queryPacket, tcpExchange, udpExchange } from '../../support/dns.js';
import { nextEvent, waitFor } from '../../support/events.js';
import { registration, registryWithClock } from '../../support/registry.js';

async function dnsServer(options: { tcpIdleMs?: number; tcpMaxConnections?: number; udpRateLimit?: number } = {}, metrics = new Metrics()) {
  const { registry } = registryWithClock();
  registry.register('web', 'w1', registration({ address: '10.0.0.1' }));
  // A service whose SRV answer is a few kilobytes, for tests that need answers to pile up.
  for (let i = 0; i < 80; i++) registry.register('big', `b${i}`, registration({ address: `10.1.0.${i}`, port: 8000 + i }));
  const zone = new Zone('beacon.internal');
  const responder = new Responder({ zone, records: new ZoneRecords(registry, zone, 5), ttl: 5, udpMax: 1232, serial: () => 1 });
  return startDnsServer({ host: '127.0.0.1', port: 0, responder, metrics, log: pino({ level: 'silent' }), ...options });
}

async function openConnection(port: number): Promise<Socket> {
  const socket = connect(port, '127.0.0.1');
  await once(socket, 'connect');
  return socket;
}

describe('DNS listeners', () => {
  test('UDP and TCP share one port and answer the same question', async (t) => {
    const server = await dnsServer();
    t.after(() => server.close());
    const udp = parse((await udpExchange(server.port, queryPacket('web.service.beacon.internal', 'A')))!);
    const [tcp] = await tcpExchange(server.port, [queryPacket('web.service.beacon.internal', 'A')]);
    assert.deepEqual(udp.answers, parse(tcp!).answers);
    assert.equal(udp.answers[0]?.address, '10.0.0.1');
  });

  test('past --dns-rate-limit a source gets no more UDP answers (counted in a metric); TCP still answers', async (t) => {
    const metrics = new Metrics();
    const server = await dnsServer({ udpRateLimit: 5 }, metrics);
    t.after(() => server.close());
    const query = queryPacket('web.service.beacon.internal', 'A');
    const rateLimited = async () => Number(/^beacon_dns_rate_limited_total (\d+)$/m.exec(await metrics.registry.metrics())?.[1]);

    // Twenty sources' worth of sockets, one query each: every query is either answered or counted as dropped.
    const sockets = Array.from({ length: 20 }, () => createSocket('udp4'));
    t.after(() => sockets.forEach((socket) => socket.close()));
    let answered = 0;
    for (const socket of sockets) {
      socket.on('message', () => (answered += 1));
      socket.send(query, server.port, '127.0.0.1');
    }
    const dropped = await waitFor(async () => {
      const count = await rateLimited();
      return answered + count === 20 && count;
    }, { what: () => `all 20 queries answered or counted (${answered} answered)` });
    const [overTcp] = await tcpExchange(server.port, [query]);

    assert.ok(answered >= 5 && answered <= 7, `${answered} of 20 answered`);
    assert.equal(dropped, 20 - answered);
    assert.equal(parse(overTcp!).answers[0]?.address, '10.0.0.1');
  });

  test('an idle TCP connection is closed after the idle timeout', async (t) => {
    const server = await dnsServer({ tcpIdleMs: 200 });
    t.after(() => server.close());
    const socket = await openConnection(server.port);
    const started = performance.now();
    await nextEvent(socket, 'close', 10_000);
    const lived = performance.now() - started;
    // Time is the subject: the connection lived out its idle time (load can only lengthen it).
    assert.ok(lived >= 150, `closed after ${Math.round(lived)} ms, before the 200 ms idle timeout`);
  });

  test('TCP connections beyond the bound are refused, the others keep working', async (t) => {
    const server = await dnsServer({ tcpMaxConnections: 2 });
    t.after(() => server.close());
    const first = await openConnection(server.port);
    const second = await openConnection(server.port);
    t.after(() => {
      first.destroy();
      second.destroy();
    });
    const third = connect(server.port, '127.0.0.1');
    third.on('error', () => {});
    await once(third, 'close');
    first.destroy();
    // The place is free once the server has seen the close; until then it still refuses.
    const [answer] = await waitFor(() => tcpExchange(server.port, [queryPacket('web.service.beacon.internal', 'A')]).catch(() => undefined), {
      what: 'a connection accepted again once one closed',
    });
    assert.equal(parse(answer!).answers[0]?.address, '10.0.0.1');
  });

  test('a TCP peer that pipelines queries and never reads stops being read; its answers all come once it reads', async (t) => {
    const metrics = new Metrics();
    const server = await dnsServer({}, metrics);
    t.after(() => server.close());
    const socket = await openConnection(server.port);
    t.after(() => socket.destroy());
    socket.pause(); // the peer never reads (until the end of the test)
    const queries = 4_000;
    const framed = Array.from({ length: queries }, (_, id) => {
      const query = queryPacket('big.service.beacon.internal', 'SRV', { id });
      return Buffer.concat([Buffer.from([query.length >> 8, query.length & 0xff]), query]);
    });
    socket.write(Buffer.concat(framed)); // 4,000 answers of ~5 KB: 20 MB if the server buffered them all

    await waitFor(() => server.tcpConnections().paused === 1, { what: 'the connection to be paused' });
    const held = server.tcpConnections().bufferedBytes;
    const answeredWhilePaused = (await metrics.registry.getSingleMetricAsString('beacon_dns_responses_total')).match(/transport="tcp"[^}]*\} (\d+)/)?.[1];
    const gauge = await metrics.registry.getSingleMetricAsString('beacon_dns_tcp_paused_connections');
    let received = Buffer.alloc(0);
    const ids: number[] = [];
    socket.on('data', (chunk: Buffer) => {
      received = Buffer.concat([received, chunk]);
      while (received.length >= 2 && received.length >= 2 + received.readUInt16BE(0)) {
        ids.push(received.readUInt16BE(2));
        received = received.subarray(2 + received.readUInt16BE(0));
      }
    });
    socket.resume();
    await waitFor(() => ids.length === queries, { what: () => `all ${queries} answers (got ${ids.length})`, timeoutMs: 30_000 });

    assert.ok(held < 512 * 1024, `held ${held} bytes for a peer that does not read`);
    assert.ok(Number(answeredWhilePaused) < queries, `answered ${answeredWhilePaused} of ${queries} while the peer did not read`);
    assert.match(gauge, /^beacon_dns_tcp_paused_connections 1$/m);
    assert.deepEqual(ids, Array.from({ length: queries }, (_, id) => id), 'every answer, in order');
    assert.equal(server.tcpConnections().paused, 0);
  });

  test('a TCP message split across writes is reassembled', async (t) => {
    const server = await dnsServer();
    t.after(() => server.close());
    const socket = await openConnection(server.port);
    t.after(() => socket.destroy());
    const query = queryPacket('web.service.beacon.internal', 'A', { id: 77 });
    const framed = Buffer.concat([Buffer.from([query.length >> 8, query.length & 0xff]), query]);
    const received = once(socket, 'data');
    for (const byte of framed) {
      // Flushed, then two turns of the event loop: the in-process server reads each byte on its own.
      await new Promise((resolve) => socket.write(Buffer.from([byte]), resolve));
      await nextTurn();
      await nextTurn();
    }
    const [chunk] = (await received) as [Buffer];
    assert.equal(parse(chunk.subarray(2)).header.id, 77);
  });
});
