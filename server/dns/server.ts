import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { lookup, type LookupOneOptions } from 'node:dns';
import { once } from 'node:events';
import { createServer, isIP, type Server, type Socket } from 'node:net';
import type { FastifyBaseLogger } from 'fastify';
import type { Metrics } from '../metrics/metrics.js';
import { HEADER_LENGTH, RCODE } from './message.js';
import type { DnsReply, Responder, Transport } from './responder.js';
import { ResponseRateLimit } from './response-rate-limit.js';
import { TcpConnection } from './tcp-connection.js';

export interface DnsServerOptions {
  host: string;
  /** 0 picks a free port, the same for UDP and TCP. */
  port: number;
  responder: Responder;
  metrics: Metrics;
  log: FastifyBaseLogger;
  /** An idle TCP connection is closed after this long (RFC 7766 §6.2.3 suggests seconds). */
  tcpIdleMs?: number;
  /** Bound on open TCP connections; more are refused at accept. */
  tcpMaxConnections?: number;
  /** UDP answers a second per source address; 0 or absent: no limit. */
  udpRateLimit?: number;
}

export interface DnsServer {
  port: number;
  /** Open TCP connections, those waiting for their peer to read, and the bytes they all hold. */
  tcpConnections(): { open: number; paused: number; bufferedBytes: number };
  close(): Promise<void>;
}

/**
 * DNS over UDP and TCP (RFC 1035 §4.2, RFC 7766) on node's sockets. Every packet goes through
 * `respondToPacket`, which never throws: a bug becomes SERVFAIL and a metric, never a crash or a log
 * line per packet.
 */
export async function startDnsServer(options: DnsServerOptions): Promise<DnsServer> {
  const { host, responder, metrics } = options;
  const counters = metrics.dnsCounters();
  const respondToPacket = (packet: Buffer, transport: Transport): Buffer | undefined => {
    let reply: DnsReply;
    try {
      reply = responder.respond(packet, transport);
    } catch (error) {
      counters.failed(transport);
      options.log.debug({ err: error }, 'DNS answer failed');
      reply = { response: serverFailure(packet), rcode: RCODE.SERVFAIL };
    }
    if (!reply.response) {
      counters.dropped(transport);
      return undefined;
    }
    counters.answered(transport, reply.rcode ?? 0, reply.truncated ?? false);
    return reply.response;
  };

  const connections = new Map<Socket, TcpConnection>();
  const tcp = createServer((socket) => {
    connections.set(socket, new TcpConnection(socket, respondToPacket, options.tcpIdleMs ?? 10_000));
    socket.once('close', () => connections.delete(socket));
  });
  tcp.maxConnections = options.tcpMaxConnections ?? 1_000;

  // UDP and TCP share one port. With port 0 the UDP socket picks it, and when that port is
  // taken for TCP both start over on another.
  let udp: UdpSocket | undefined;
  for (let attempt = 1; !udp; attempt++) {
    const socket = createSocket({ type: host.includes(':') ? 'udp6' : 'udp4', lookup: literalLookup });
    await bind(socket, host, options.port);
    try {
      await listen(tcp, host, socket.address().port);
      udp = socket;
    } catch (error) {
      socket.close();
      if (options.port !== 0 || attempt >= 10 || (error as NodeJS.ErrnoException).code !== 'EADDRINUSE') {
        throw Object.assign(error as Error, { listener: 'DNS (TCP)' });
      }
    }
  }
  const port = udp.address().port;
  const udpSocket = udp;
  const limit = options.udpRateLimit ? new ResponseRateLimit(options.udpRateLimit) : undefined;
  udpSocket.on('message', (packet, peer) => {
    if (limit && !limit.allow(peer.address)) {
      counters.rateLimited();
      return;
    }
    const response = respondToPacket(packet, 'udp');
    if (response) udpSocket.send(response, peer.port, peer.address);
  });
  udpSocket.on('error', (error) => options.log.error({ err: error }, 'DNS UDP socket error'));
  tcp.on('error', (error) => options.log.error({ err: error }, 'DNS TCP listener error'));
  const shown = host.includes(':') ? `[${host}]` : host;
  options.log.info(`DNS listening on udp://${shown}:${port}`);
  options.log.info(`DNS listening on tcp://${shown}:${port}`);

  const tcpConnections = () => {
    let paused = 0;
    let bufferedBytes = 0;
    for (const connection of connections.values()) {
      if (connection.paused) paused += 1;
      bufferedBytes += connection.bufferedBytes;
    }
    return { open: connections.size, paused, bufferedBytes };
  };
  metrics.observeDnsTcp(tcpConnections);

  return {
    port,
    tcpConnections,
    close: async () => {
      const closed = new Promise<void>((resolve) => tcp.close(() => resolve()));
      for (const socket of connections.keys()) socket.destroy();
      await new Promise<void>((resolve) => udpSocket.close(() => resolve()));
      await closed;
    },
  };
}

/**
 * dgram passes the address of every `send` through a lookup, and dns.lookup answers even an IP
 * literal on the next tick: each answer then costs a tick, a run of the tick queue and the
 * microtask checkpoint after it, which showed in DNS profiles (docs/benchmarks.md). A peer's
 * address is always a literal (it comes from the received packet), so it is handed straight
 * back; a host name (the bind address may be one) is still resolved by dns.lookup.
 */
function literalLookup(
  hostname: string,
  options: LookupOneOptions | number,
  callback: (error: NodeJS.ErrnoException | null, address: string, family: number) => void,
): void {
  const family = isIP(hostname);
  if (family !== 0) callback(null, hostname, family);
  else lookup(hostname, options as LookupOneOptions, callback);
}

/** SERVFAIL echoing the query's id and RD, for a packet whose answer failed unexpectedly. */
function serverFailure(packet: Buffer): Buffer | undefined {
  if (packet.length < HEADER_LENGTH) return undefined;
  const response = Buffer.alloc(HEADER_LENGTH);
  packet.copy(response, 0, 0, 2);
  response.writeUInt16BE(0x8000 | (packet.readUInt16BE(2) & 0x0100) | RCODE.SERVFAIL, 2);
  return response;
}

async function bind(socket: UdpSocket, host: string, port: number): Promise<void> {
  const failed = once(socket, 'error');
  const bound = once(socket, 'listening');
  socket.bind(port, host);
  await Promise.race([bound, failed.then(([error]) => Promise.reject(Object.assign(error as Error, { listener: 'DNS (UDP)' })))]);
}

async function listen(server: Server, host: string, port: number): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
}
