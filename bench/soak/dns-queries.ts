import { createSocket } from 'node:dgram';
import { setTimeout as sleep } from 'node:timers/promises';
import { RCODE, TYPE } from '../../server/dns/message.js';
import { parse, queryPacket } from '../../test/support/dns.js';
import type { ErrorTally } from './error-tally.js';

export interface DnsLoad {
  port: number;
  domain: string;
  services: number;
  queriesPerSecond: number;
  deadline: number;
  errors: ErrorTally;
}

export interface DnsCount {
  a: number;
  srv: number;
  /** Answers cut at the UDP size limit with TC set: expected for 100-instance services, and still carrying records. */
  truncated: number;
}

const QUERY_TYPES = ['A', 'SRV'] as const;
type QueryType = (typeof QUERY_TYPES)[number];
/** A query unanswered this long is a timeout (dnsperf's default too). */
const TIMEOUT_MS = 2_000;
const TICK_MS = 20;
/** What a typical resolver offers; answers are capped at --dns-udp-max (1232) anyway. */
const EDNS_UDP_SIZE = 1232;
const RECEIVE_BUFFER_BYTES = 4 * 2 ** 20;

interface Pending {
  name: string;
  type: QueryType;
  sentAt: number;
}

/**
 * A steady rate of A and SRV queries for random services over one UDP socket, matched to their
 * answers by ID. Every answer must be NOERROR with at least one record of the asked type for
 * the asked name; a query unanswered within 2 s is a timeout.
 */
export async function runDnsQueries(load: DnsLoad, count: DnsCount): Promise<void> {
  // Big enough for seconds of 1232-byte answers: a busy load generator must not drop them itself.
  const socket = createSocket({ type: 'udp4', recvBufferSize: RECEIVE_BUFFER_BYTES });
  const pending = new Map<number, Pending>();
  socket.on('message', (message) => checkAnswer(message, pending, load.errors, count));
  socket.on('error', (error) => load.errors.record('dnsTimeout', `UDP socket: ${error.message}`));
  const templates = new Map<string, Buffer>();
  const query = (name: string, type: QueryType) => {
    const key = `${name} ${type}`;
    let template = templates.get(key);
    if (!template) templates.set(key, (template = queryPacket(name, type, { edns: EDNS_UDP_SIZE })));
    return Buffer.from(template);
  };
  const expire = (olderThan: number) => {
    for (const [id, sent] of pending) {
      if (sent.sentAt > olderThan) continue;
      pending.delete(id);
      load.errors.record('dnsTimeout', `${sent.name} ${sent.type}: no answer within ${TIMEOUT_MS} ms`);
    }
  };

  const started = Date.now();
  let sent = 0;
  let nextId = 0;
  while (Date.now() < load.deadline) {
    const due = Math.floor(((Date.now() - started) / 1000) * load.queriesPerSecond);
    for (; sent < due; sent++) {
      const id = nextId;
      nextId = (nextId + 1) & 0xffff;
      const type = QUERY_TYPES[sent % 2]!;
      const name = `svc-${Math.floor(Math.random() * load.services)}.service.${load.domain}`;
      const packet = query(name, type);
      packet.writeUInt16BE(id, 0);
      pending.set(id, { name, type, sentAt: Date.now() });
      if (type === 'A') count.a++;
      else count.srv++;
      socket.send(packet, load.port, '127.0.0.1');
    }
    await sleep(TICK_MS);
    // Timers run before the poll phase reads the socket: check after it, so an answer that
    // arrived during a pause of this process is read before its query is declared lost.
    await new Promise((resolve) => setImmediate(resolve));
    expire(Date.now() - TIMEOUT_MS);
  }
  // The last queries get their full timeout before the socket closes.
  while (pending.size > 0 && Date.now() < load.deadline + TIMEOUT_MS) await sleep(TICK_MS);
  expire(Infinity);
  socket.close();
}

function checkAnswer(message: Buffer, pending: Map<number, Pending>, errors: ErrorTally, count: DnsCount): void {
  const id = message.readUInt16BE(0);
  const sent = pending.get(id);
  // An answer after its timeout was already counted as one.
  if (!sent) return;
  pending.delete(id);
  const packet = parse(message);
  const records = packet.answers.filter((record) => record.type === TYPE[sent.type] && record.name.toLowerCase() === sent.name);
  if (packet.header.rcode !== RCODE.NOERROR || records.length === 0) {
    errors.record('dnsAnswer', `${sent.name} ${sent.type}: rcode ${packet.header.rcode}, ${records.length} ${sent.type} records of ${packet.answers.length} answers`);
  }
  if (packet.header.tc) count.truncated++;
}
