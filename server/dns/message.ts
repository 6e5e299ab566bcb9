/**
 * The parts of the DNS wire format (RFC 1035 §4) Beacon reads: a query's header, its one
 * question and its EDNS0 OPT record (RFC 6891). Hand-written rather than dns2's Packet.parse
 * because every byte here comes from the network: each read is bounds-checked, compression
 * pointers are refused in questions (nothing precedes them to point at), and any surprise
 * becomes a typed result instead of an exception.
 */
export const TYPE = { A: 1, NS: 2, SOA: 6, HINFO: 13, AAAA: 28, SRV: 33, OPT: 41, ANY: 255 } as const;
export const CLASS_IN = 1;
export const CLASS_ANY = 255;
export const RCODE = { NOERROR: 0, FORMERR: 1, SERVFAIL: 2, NXDOMAIN: 3, NOTIMP: 4, REFUSED: 5 } as const;
/** Extended RCODE 16 (RFC 6891 §9): the upper 8 bits go in the OPT record. */
export const BADVERS = 16;

export const HEADER_LENGTH = 12;
const MAX_NAME_LENGTH = 255;

export interface Question {
  /**
   * The name in wire form (length-prefixed labels), lower-cased, as one latin1 string: a key
   * for the zone's classification cache, built with one allocation instead of one per label.
   */
  key: string;
  /**
   * Where the question's bytes (name, type, class) end in the query; they start right after the
   * header. An answer echoes them verbatim, case as asked, copied from the query itself: an
   * offset rather than a subarray, which would be one more Buffer object per query.
   */
  end: number;
  type: number;
  qclass: number;
}

export interface Edns {
  /** Offered UDP payload size, at least 512 (RFC 6891 §6.2.5). */
  udpSize: number;
  version: number;
  /** DNSSEC OK: echoed back (RFC 3225), though Beacon signs nothing. */
  dnssecOk: boolean;
}

export type ParsedQuery =
  | { kind: 'drop' }
  | { kind: 'error'; id: number; flags: number; rcode: number; question?: Question; edns?: Edns }
  | { kind: 'query'; id: number; flags: number; question: Question; edns?: Edns };

/** Parses a query; never throws. */
export function parseQuery(packet: Buffer): ParsedQuery {
  if (packet.length < HEADER_LENGTH) return { kind: 'drop' };
  const id = packet.readUInt16BE(0);
  const flags = packet.readUInt16BE(2);
  // A response (QR set) is never answered: answering could loop between two servers.
  if (flags & 0x8000) return { kind: 'drop' };
  const opcode = (flags >> 11) & 0xf;
  const qdcount = packet.readUInt16BE(4);
  const ancount = packet.readUInt16BE(6);
  const nscount = packet.readUInt16BE(8);
  const arcount = packet.readUInt16BE(10);
  if (opcode !== 0) return { kind: 'error', id, flags, rcode: RCODE.NOTIMP };
  if (qdcount !== 1 || ancount !== 0 || nscount !== 0) return { kind: 'error', id, flags, rcode: RCODE.FORMERR };

  const question = readQuestion(packet, HEADER_LENGTH);
  if (!question) return { kind: 'error', id, flags, rcode: RCODE.FORMERR };

  let offset = question.end;
  let edns: Edns | undefined;
  for (let i = 0; i < arcount; i++) {
    const record = readAdditional(packet, offset);
    if (!record) return { kind: 'error', id, flags, rcode: RCODE.FORMERR, question };
    offset = record.end;
    if (record.type !== TYPE.OPT) continue;
    // RFC 6891 §6.1.1: more than one OPT, or one not at the root, is a FORMERR.
    if (edns || !record.rootName) return { kind: 'error', id, flags, rcode: RCODE.FORMERR, question };
    edns = {
      udpSize: Math.max(512, record.qclass),
      version: (record.ttl >>> 16) & 0xff,
      dnssecOk: (record.ttl & 0x8000) !== 0,
    };
  }
  if (edns && edns.version !== 0) return { kind: 'error', id, flags, rcode: BADVERS, question, edns };
  return { kind: 'query', id, flags, question, edns };
}

function readQuestion(packet: Buffer, start: number): Question | undefined {
  let offset = start;
  for (;;) {
    if (offset >= packet.length) return undefined;
    const length = packet[offset]!;
    if (length === 0) break;
    if (length > 63) return undefined; // a compression pointer (0xc0) or a reserved label type
    offset += 1 + length;
    if (offset - start + 1 > MAX_NAME_LENGTH || offset > packet.length) return undefined;
  }
  offset += 1;
  if (offset + 4 > packet.length) return undefined;
  return {
    // Length bytes are at most 63, below 'A' (65): lower-casing leaves them alone.
    key: packet.toString('latin1', start, offset).toLowerCase(),
    end: offset + 4,
    type: packet.readUInt16BE(offset),
    qclass: packet.readUInt16BE(offset + 2),
  };
}

interface AdditionalRecord {
  rootName: boolean;
  type: number;
  qclass: number;
  ttl: number;
  end: number;
}

/** Reads one resource record of the additional section, following no pointers. */
function readAdditional(packet: Buffer, start: number): AdditionalRecord | undefined {
  let offset = start;
  for (let steps = 0; ; steps++) {
    if (offset >= packet.length || steps > 128) return undefined;
    const length = packet[offset]!;
    if (length === 0) {
      offset += 1;
      break;
    }
    if ((length & 0xc0) === 0xc0) {
      offset += 2; // a pointer ends the name; it is never followed
      break;
    }
    if (length > 63) return undefined;
    offset += 1 + length;
  }
  if (offset + 10 > packet.length) return undefined;
  const rdLength = packet.readUInt16BE(offset + 8);
  const end = offset + 10 + rdLength;
  if (end > packet.length) return undefined;
  return {
    rootName: offset === start + 1,
    type: packet.readUInt16BE(offset),
    qclass: packet.readUInt16BE(offset + 2),
    ttl: packet.readUInt32BE(offset + 4),
    end,
  };
}

/** A name as uncompressed wire labels (RFC 1035 §3.1). Labels must already be valid. */
export function encodeName(labels: readonly string[]): Buffer {
  const parts: Buffer[] = [];
  for (const label of labels) {
    const bytes = Buffer.from(label, 'latin1');
    parts.push(Buffer.from([bytes.length]), bytes);
  }
  parts.push(Buffer.from([0]));
  return Buffer.concat(parts);
}
