import { isIP } from 'node:net';
import { BADVERS, CLASS_ANY, CLASS_IN, encodeName, type Edns, HEADER_LENGTH, parseQuery, type Question, RCODE, TYPE } from './message.js';
import { MessageWriter } from './message-writer.js';
import { resourceTail, SRV_TARGET_OFFSET, type ZoneRecords } from './records.js';
import { weightedOrder } from '../../contract/weighted-order.js';
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

export interface DnsReply {
  /** Nothing to send: the packet had no readable header, or was a response. */
  response?: Buffer;
  rcode?: number;
  truncated?: boolean;
}

const POINTER_TO_QUESTION = 0xc000 | HEADER_LENGTH;
/** Over TCP a message may use all of its 16-bit length prefix (RFC 1035 §4.2.2). */
export const TCP_MESSAGE_LIMIT = 65_535;
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
  /** One writer for every answer: `respond` is synchronous, so answers never overlap. */
  private readonly message: MessageWriter;

  constructor(private readonly options: ResponderOptions) {
    const { zone, ttl } = options;
    this.message = new MessageWriter(options.udpMax);
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

  respond(packet: Buffer, transport: Transport): DnsReply {
    const query = parseQuery(packet);
    if (query.kind === 'drop') return {};
    const limit = transport === 'tcp' ? TCP_MESSAGE_LIMIT : udpLimit(query.edns, this.options.udpMax);
    const message = this.message.begin(limit, query.id, query.flags, query.edns);
    if (query.kind === 'error') {
      // The question is echoed only when it could be read; a FORMERR header alone is enough.
      if (query.rcode === BADVERS && query.question) message.question(packet, query.question);
      return message.finish(query.rcode, false);
    }
    const { question } = query;
    message.question(packet, question);
    if (question.qclass !== CLASS_IN && question.qclass !== CLASS_ANY) return message.finish(RCODE.REFUSED, false);
    const { name, apexOffset } = this.options.zone.classify(question.key);
    if (name.kind === 'outside') return message.finish(RCODE.REFUSED, false);
    const rcode = this.writeAnswers(message, name, question, 0xc000 | (HEADER_LENGTH + apexOffset));
    return message.finish(rcode, true);
  }

  /** `apex` is a compression pointer to the zone's name inside the question, for the SOA. */
  private writeAnswers(message: MessageWriter, name: ZoneName, question: Question, apex: number): number {
    const { type } = question;
    switch (name.kind) {
      case 'apex':
        if (type === TYPE.SOA || type === TYPE.ANY) {
          message.answerRecord(POINTER_TO_QUESTION, this.soaTail(this.options.serial()));
          return RCODE.NOERROR;
        }
        if (type === TYPE.NS) {
          message.answerRecord(POINTER_TO_QUESTION, this.nsTail);
          return RCODE.NOERROR;
        }
        return this.noData(message, apex);
      case 'nameserver':
        if (this.nameserverRecord?.type === type) {
          message.answerRecord(POINTER_TO_QUESTION, this.nameserverRecord.tail);
          return RCODE.NOERROR;
        }
        return this.noData(message, apex);
      case 'address':
        if ((type === TYPE.A && name.family === 4) || (type === TYPE.AAAA && name.family === 6)) {
          message.answerRecord(POINTER_TO_QUESTION, this.options.records.addressRecord(name.address, name.family));
          return RCODE.NOERROR;
        }
        return this.noData(message, apex);
      case 'empty':
        return this.noData(message, apex);
      case 'service':
        return this.writeServiceAnswers(message, name, type, apex);
      default:
        this.authority(message, apex);
        return RCODE.NXDOMAIN;
    }
  }

  private writeServiceAnswers(message: MessageWriter, name: Extract<ZoneName, { kind: 'service' }>, type: number, apex: number): number {
    const records = this.options.records.service(name.service);
    if (!records.exists || (name.tag !== undefined && !records.tags.has(name.tag))) {
      this.authority(message, apex);
      return RCODE.NXDOMAIN;
    }
    if (type === TYPE.ANY) {
      message.answerRecord(POINTER_TO_QUESTION, this.minimalAnyTail);
      return RCODE.NOERROR;
    }
    const wantsSrv = type === TYPE.SRV;
    const family = wantsSrv ? 0 : type === TYPE.A ? 4 : type === TYPE.AAAA ? 6 : undefined;
    // The RFC 2782 form names a service location: SRV only.
    if (family === undefined || (!wantsSrv && name.rfc2782)) return this.noData(message, apex);
    const chosen = records.select(name.tag ?? '', family);
    if (chosen.passing.length + chosen.warning.length === 0) return this.noData(message, apex);
    // Passing before warning (priority 1, 2), each in weighted random order, fresh per query.
    const passing = weightedOrder(chosen.passing);
    // Usually nothing is in warning: then the passing order is the whole answer, uncopied.
    const ordered = chosen.warning.length === 0 ? passing : [...passing, ...weightedOrder(chosen.warning)];
    const count = ordered.length;
    if (!wantsSrv) {
      for (let i = 0; i < count; i++) if (message.answerRecord(POINTER_TO_QUESTION, ordered[i]!.address) === false) break;
      return RCODE.NOERROR;
    }
    let written = 0;
    const firstSrv = message.offset;
    for (; written < count; written++) if (message.answerRecord(POINTER_TO_QUESTION, ordered[written]!.srv) === false) break;
    // Each SRV record written is pointer + srv bytes long, so the targets' offsets follow.
    const seen = chosen.distinctTargets ? undefined : new Set<string>();
    for (let i = 0, at = firstSrv + 2 + SRV_TARGET_OFFSET; i < written; i++) {
      const entry = ordered[i]!;
      const target = at;
      at += 2 + entry.srv.length;
      if (seen) {
        if (seen.has(entry.target)) continue;
        seen.add(entry.target);
      }
      // The owner is the SRV target: a pointer to it where one can reach (14 bits), else the name.
      const owner = target < 0x4000 ? 0xc000 | target : entry.srv.subarray(SRV_TARGET_OFFSET);
      // Additional records are a courtesy: when they do not fit they are left out, without TC.
      if (!message.additionalRecord(owner, entry.address)) break;
    }
    return RCODE.NOERROR;
  }

  private noData(message: MessageWriter, apex: number): number {
    this.authority(message, apex);
    return RCODE.NOERROR;
  }

  /** The SOA in the authority section of a negative answer (RFC 2308). */
  private authority(message: MessageWriter, apex: number): void {
    message.authorityRecord(apex, this.soaTail(this.options.serial()));
  }
}

function udpLimit(edns: Edns | undefined, udpMax: number): number {
  if (!edns) return CLASSIC_UDP_LIMIT;
  return Math.max(CLASSIC_UDP_LIMIT, Math.min(edns.udpSize, udpMax));
}
