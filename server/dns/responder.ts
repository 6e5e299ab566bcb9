import { isIP } from 'node:net';
import { BADVERS, CLASS_ANY, CLASS_IN, encodeName, type Edns, HEADER_LENGTH, parseQuery, type Question, RCODE, TYPE } from './message.js';
import { resourceTail, SRV_TARGET_OFFSET, type ZoneRecords } from './records.js';
import { weightedOrder } from './weighted-order.js';
import type { Zone, ZoneName } from './zone.js';

export type Transport = 'udp' | 'tcp';

export interface ResponderOptions {
  zone: Zone;
  records: ZoneRecords;
  /** TTL of positive answers and of the SOA; the SOA minimum (negative-caching TTL) too. */
  ttl: number;
  /** Largest UDP answer whatever the EDNS size offered (SPEC: --dns-udp-max). */
  udpMax: number;
  /** The SOA serial: moves when the service catalog changes. */
  serial: () => number;
  /** The address `ns.<domain>` resolves to, when the server binds a specific one. */
  nameserverAddress?: string;
}

export interface Outcome {
  /** Nothing to send: the packet had no readable header, or was a response. */
  response?: Buffer;
  rcode?: number;
  truncated?: boolean;
}

const OPT_LENGTH = 11;
const POINTER_TO_QUESTION = 0xc000 | HEADER_LENGTH;
const NO_UDP_LIMIT = 65_535;
const CLASSIC_UDP_LIMIT = 512;

/**
 * Turns one query packet into one answer packet. Records come pre-encoded from ZoneRecords;
 * this assembles header, question (echoed as asked), answers in weighted order, authority,
 * additional and OPT, cutting at whole records with TC set when the size limit is reached.
 */
export class Responder {
  private readonly soaTail: (serial: number) => Buffer;
  private readonly nsTail: Buffer;
  /**
   * The answer to ANY on a service (RFC 8482 §4.2): one synthesized HINFO, CPU "RFC8482" and an
   * empty OS, instead of every record the name has. ANY is how amplification attacks pick the
   * largest answers, and no client needs it: they ask for SRV, A or AAAA.
   */
  private readonly minimalAnyTail: Buffer;
  private readonly nameserverRecord?: { type: number; tail: Buffer };

  constructor(private readonly options: ResponderOptions) {
    const { zone, ttl } = options;
    const soaNames = Buffer.concat([encodeName(zone.nameserver), encodeName(zone.hostmaster)]);
    let last: { serial: number; tail: Buffer } | undefined;
    this.soaTail = (serial) => {
      if (last?.serial === serial) return last.tail;
      const numbers = Buffer.alloc(20);
      numbers.writeUInt32BE(serial >>> 0, 0);
      numbers.writeUInt32BE(3600, 4); // refresh
      numbers.writeUInt32BE(600, 8); // retry
      numbers.writeUInt32BE(86_400, 12); // expire
      numbers.writeUInt32BE(ttl, 16); // minimum: the negative-caching TTL (RFC 2308)
      last = { serial, tail: resourceTail(TYPE.SOA, ttl, Buffer.concat([soaNames, numbers])) };
      return last.tail;
    };
    this.nsTail = resourceTail(TYPE.NS, ttl, encodeName(zone.nameserver));
    this.minimalAnyTail = resourceTail(TYPE.HINFO, ttl, Buffer.from([7, ...Buffer.from('RFC8482'), 0]));
    const address = options.nameserverAddress;
    if (address && address !== '0.0.0.0' && address !== '::') {
      const family = isIP(address) === 4 ? 4 : 6;
      this.nameserverRecord = { type: family === 4 ? TYPE.A : TYPE.AAAA, tail: options.records.addressRecord(address, family) };
    }
  }

  respond(packet: Buffer, transport: Transport): Outcome {
    const query = parseQuery(packet);
    if (query.kind === 'drop') return {};
    const limit = transport === 'tcp' ? NO_UDP_LIMIT : udpLimit(query.edns, this.options.udpMax);
    const message = new MessageWriter(limit, query.id, query.flags, query.edns, this.options.udpMax);
    if (query.kind === 'error') {
      // The question is echoed only when it could be read; a FORMERR header alone is enough.
      return message.finish(query.rcode, query.rcode === BADVERS ? query.question : undefined, false);
    }
    const { question } = query;
    if (question.qclass !== CLASS_IN && question.qclass !== CLASS_ANY) return message.finish(RCODE.REFUSED, question, false);
    const { name, apexOffset } = this.options.zone.classify(question.key);
    if (name.kind === 'outside') return message.finish(RCODE.REFUSED, question, false);
    message.question(question);
    const rcode = this.answer(message, name, question, 0xc000 | (HEADER_LENGTH + apexOffset));
    return message.finish(rcode, undefined, true);
  }

  /** `apex` is a compression pointer to the zone's name inside the question, for the SOA. */
  private answer(message: MessageWriter, name: ZoneName, question: Question, apex: number): number {
    const { type } = question;
    switch (name.kind) {
      case 'apex':
        if (type === TYPE.SOA || type === TYPE.ANY) {
          message.answer(POINTER_TO_QUESTION, this.soaTail(this.options.serial()));
          return RCODE.NOERROR;
        }
        if (type === TYPE.NS) {
          message.answer(POINTER_TO_QUESTION, this.nsTail);
          return RCODE.NOERROR;
        }
        return this.noData(message, apex);
      case 'nameserver':
        if (this.nameserverRecord?.type === type) {
          message.answer(POINTER_TO_QUESTION, this.nameserverRecord.tail);
          return RCODE.NOERROR;
        }
        return this.noData(message, apex);
      case 'address':
        if ((type === TYPE.A && name.family === 4) || (type === TYPE.AAAA && name.family === 6)) {
          message.answer(POINTER_TO_QUESTION, this.options.records.addressRecord(name.address, name.family));
          return RCODE.NOERROR;
        }
        return this.noData(message, apex);
      case 'empty':
        return this.noData(message, apex);
      case 'service':
        return this.answerService(message, name, type, apex);
      default:
        this.authority(message, apex);
        return RCODE.NXDOMAIN;
    }
  }

  private answerService(message: MessageWriter, name: Extract<ZoneName, { kind: 'service' }>, type: number, apex: number): number {
    const records = this.options.records.service(name.service);
    if (!records.exists || (name.tag !== undefined && !records.tags.has(name.tag))) {
      this.authority(message, apex);
      return RCODE.NXDOMAIN;
    }
    if (type === TYPE.ANY) {
      message.answer(POINTER_TO_QUESTION, this.minimalAnyTail);
      return RCODE.NOERROR;
    }
    const wantsSrv = type === TYPE.SRV;
    const family = wantsSrv ? 0 : type === TYPE.A ? 4 : type === TYPE.AAAA ? 6 : undefined;
    // The RFC 2782 form names a service location: SRV only.
    if (family === undefined || (!wantsSrv && name.rfc2782)) return this.noData(message, apex);
    const selection = records.select(name.tag ?? '', family);
    if (selection.passing.length + selection.warning.length === 0) return this.noData(message, apex);
    // Passing before warning (priority 1, 2), each in weighted random order, fresh per query.
    const passing = weightedOrder(selection.passing);
    const warning = weightedOrder(selection.warning);
    const count = passing.length + warning.length;
    const entryAt = (i: number) => (i < passing.length ? passing[i]! : warning[i - passing.length]!);
    if (!wantsSrv) {
      for (let i = 0; i < count; i++) if (message.answer(POINTER_TO_QUESTION, entryAt(i).address) === false) break;
      return RCODE.NOERROR;
    }
    let written = 0;
    const firstSrv = message.offset;
    for (; written < count; written++) if (message.answer(POINTER_TO_QUESTION, entryAt(written).srv) === false) break;
    // Each SRV record written is pointer + srv bytes long, so the targets' offsets follow.
    const seen = selection.distinctTargets ? undefined : new Set<string>();
    for (let i = 0, at = firstSrv + 2 + SRV_TARGET_OFFSET; i < written; i++) {
      const entry = entryAt(i);
      const target = at;
      at += 2 + entry.srv.length;
      if (seen) {
        if (seen.has(entry.target)) continue;
        seen.add(entry.target);
      }
      // The owner is the SRV target: a pointer to it where one can reach (14 bits), else the name.
      const owner = target < 0x4000 ? 0xc000 | target : entry.srv.subarray(SRV_TARGET_OFFSET);
      // Additional records are a courtesy: when they do not fit they are left out, without TC.
      if (!message.additional(owner, entry.address)) break;
    }
    return RCODE.NOERROR;
  }

  private noData(message: MessageWriter, apex: number): number {
    this.authority(message, apex);
    return RCODE.NOERROR;
  }

  /** The SOA in the authority section of a negative answer (RFC 2308). */
  private authority(message: MessageWriter, apex: number): void {
    message.authority(apex, this.soaTail(this.options.serial()));
  }
}

function udpLimit(edns: Edns | undefined, udpMax: number): number {
  if (!edns) return CLASSIC_UDP_LIMIT;
  return Math.max(CLASSIC_UDP_LIMIT, Math.min(edns.udpSize, udpMax));
}

/**
 * Writes one answer into a buffer of the allowed size. Sections are appended in order; an
 * answer record that does not fit sets TC and closes the answer section, so the message
 * holds only whole records. Room for the OPT record is reserved from the start.
 */
class MessageWriter {
  private readonly buffer: Buffer;
  /** Where the next record goes. */
  offset = HEADER_LENGTH;
  private readonly limit: number;
  private counts = { question: 0, answer: 0, authority: 0, additional: 0 };
  private truncated = false;

  constructor(
    limit: number,
    private readonly id: number,
    private readonly queryFlags: number,
    private readonly edns: Edns | undefined,
    private readonly udpMax: number,
  ) {
    this.buffer = Buffer.allocUnsafe(limit);
    this.limit = limit - (edns ? OPT_LENGTH : 0);
  }

  question(question: Question): boolean {
    if (this.offset + question.wire.length > this.limit) return false;
    question.wire.copy(this.buffer, this.offset);
    this.offset += question.wire.length;
    this.counts.question = 1;
    return true;
  }

  /** Appends an answer record; returns where it starts, or false (and sets TC) when it does not fit. */
  answer(owner: number, tail: Buffer): number | false {
    if (this.truncated) return false;
    const start = this.record(owner, tail);
    if (start === false) {
      this.truncated = true;
      return false;
    }
    this.counts.answer += 1;
    return start;
  }

  authority(owner: number, tail: Buffer): boolean {
    if (this.record(owner, tail) === false) return false;
    this.counts.authority += 1;
    return true;
  }

  additional(owner: number | Buffer, tail: Buffer): boolean {
    if (this.record(owner, tail) === false) return false;
    this.counts.additional += 1;
    return true;
  }

  finish(rcode: number, question: Question | undefined, authoritative: boolean): Outcome {
    if (question) this.question(question);
    if (this.edns) this.opt(rcode);
    const buffer = this.buffer;
    // QR, the query's opcode and RD, AA for answers from the zone, TC, and the low 4 rcode bits.
    const flags = 0x8000 | (this.queryFlags & 0x7900) | (authoritative ? 0x0400 : 0) | (this.truncated ? 0x0200 : 0) | (rcode & 0xf);
    buffer.writeUInt16BE(this.id, 0);
    buffer.writeUInt16BE(flags, 2);
    buffer.writeUInt16BE(this.counts.question, 4);
    buffer.writeUInt16BE(this.counts.answer, 6);
    buffer.writeUInt16BE(this.counts.authority, 8);
    buffer.writeUInt16BE(this.counts.additional + (this.edns ? 1 : 0), 10);
    return { response: buffer.subarray(0, this.offset), rcode, truncated: this.truncated };
  }

  /** Writes owner (a compression pointer, or a whole name) and the rest of a record. */
  private record(owner: number | Buffer, tail: Buffer): number | false {
    const start = this.offset;
    const ownerLength = typeof owner === 'number' ? 2 : owner.length;
    if (start + ownerLength + tail.length > this.limit) return false;
    if (typeof owner === 'number') this.buffer.writeUInt16BE(owner, start);
    else owner.copy(this.buffer, start);
    tail.copy(this.buffer, start + ownerLength);
    this.offset = start + ownerLength + tail.length;
    return start;
  }

  /** RFC 6891 §6.1.2: root owner, our UDP size, extended rcode bits, version 0, DO echoed. */
  private opt(rcode: number): void {
    const b = this.buffer;
    const at = this.offset;
    b[at] = 0;
    b.writeUInt16BE(TYPE.OPT, at + 1);
    b.writeUInt16BE(this.udpMax, at + 3);
    b[at + 5] = (rcode >> 4) & 0xff;
    b[at + 6] = 0;
    b.writeUInt16BE(this.edns?.dnssecOk ? 0x8000 : 0, at + 7);
    b.writeUInt16BE(0, at + 9);
    this.offset = at + OPT_LENGTH;
  }
}
