import { type Edns, HEADER_LENGTH, type Question, TYPE } from './message.js';

const OPT_LENGTH = 11;
/** The largest DNS message (a TCP one: RFC 1035 §4.2.2's 16-bit length). */
const MAX_MESSAGE_LENGTH = 65_535;

/** One finished answer: its bytes, exactly as long as the message. */
export interface WrittenMessage {
  response: Buffer;
  rcode: number;
  truncated: boolean;
}

/**
 * Writes one answer at a time into a scratch buffer of the largest message size, allocated
 * once, and hands out an exact-size copy when the answer is finished. Building in place and
 * copying out costs one small allocation from Node's buffer pool per answer (the ceiling's
 * too); a fresh buffer of the size limit per answer used 512 bytes of the pool (64 KiB over
 * TCP, outside the pool) plus a subarray, and a writer object with its counters.
 *
 * The scratch buffer is never sent: `send` may still hold what it was given when the next query
 * is written. Reusing one writer is safe because an answer is built from `begin` to `finish`
 * synchronously (Responder.respond never awaits).
 *
 * Sections are appended in order; an answer record that does not fit sets TC and closes the
 * answer section, so the message holds only whole records. Room for the OPT record is reserved
 * from the start.
 */
export class MessageWriter {
  private readonly buffer = Buffer.allocUnsafe(MAX_MESSAGE_LENGTH);
  /** Where the next record goes. */
  offset = HEADER_LENGTH;
  private limit = 0;
  private id = 0;
  private queryFlags = 0;
  private edns: Edns | undefined;
  private questions = 0;
  private answerCount = 0;
  private authorities = 0;
  private additionals = 0;
  private truncated = false;

  constructor(private readonly udpMax: number) {}

  /** Starts a new answer of at most `limit` bytes to the query with this id, flags and EDNS. */
  begin(limit: number, id: number, queryFlags: number, edns: Edns | undefined): this {
    this.offset = HEADER_LENGTH;
    this.limit = Math.min(limit, MAX_MESSAGE_LENGTH) - (edns ? OPT_LENGTH : 0);
    this.id = id;
    this.queryFlags = queryFlags;
    this.edns = edns;
    this.questions = 0;
    this.answerCount = 0;
    this.authorities = 0;
    this.additionals = 0;
    this.truncated = false;
    return this;
  }

  /** Echoes the question as asked, copied from the query `packet` it was read from. */
  question(packet: Buffer, question: Question): boolean {
    const length = question.end - HEADER_LENGTH;
    if (this.offset + length > this.limit) return false;
    packet.copy(this.buffer, this.offset, HEADER_LENGTH, question.end);
    this.offset += length;
    this.questions = 1;
    return true;
  }

  /** Appends an answer record; returns where it starts, or false (and sets TC) when it does not fit. */
  answerRecord(owner: number, tail: Buffer): number | false {
    if (this.truncated) return false;
    const start = this.record(owner, tail);
    if (start === false) {
      this.truncated = true;
      return false;
    }
    this.answerCount += 1;
    return start;
  }

  authorityRecord(owner: number, tail: Buffer): boolean {
    if (this.record(owner, tail) === false) return false;
    this.authorities += 1;
    return true;
  }

  additionalRecord(owner: number | Buffer, tail: Buffer): boolean {
    if (this.record(owner, tail) === false) return false;
    this.additionals += 1;
    return true;
  }

  /** Writes the header (and OPT) and returns a copy of the message, sized to fit. */
  finish(rcode: number, authoritative: boolean): WrittenMessage {
    if (this.edns) this.opt(rcode);
    const buffer = this.buffer;
    // QR, the query's opcode and RD, AA for answers from the zone, TC, and the low 4 rcode bits.
    const flags = 0x8000 | (this.queryFlags & 0x7900) | (authoritative ? 0x0400 : 0) | (this.truncated ? 0x0200 : 0) | (rcode & 0xf);
    buffer.writeUInt16BE(this.id, 0);
    buffer.writeUInt16BE(flags, 2);
    buffer.writeUInt16BE(this.questions, 4);
    buffer.writeUInt16BE(this.answerCount, 6);
    buffer.writeUInt16BE(this.authorities, 8);
    buffer.writeUInt16BE(this.additionals + (this.edns ? 1 : 0), 10);
    const response = Buffer.allocUnsafe(this.offset);
    buffer.copy(response, 0, 0, this.offset);
    return { response, rcode, truncated: this.truncated };
  }

  /** Writes owner (a compression pointer, or a whole name) and the rest of a record. */
  private record(owner: number | Buffer, tail: Buffer): number | false {
    const start = this.offset;
    const ownerLength = typeof owner === 'number' ? 2 : owner.length;
    if (start + ownerLength + tail.length > this.limit) return false;
    if (typeof owner === 'number') this.buffer.writeUInt16BE(owner, start);
    else this.buffer.set(owner, start);
    // TypedArray#set rather than Buffer#copy: a plain memory copy inside V8, where copy's
    // argument checks and call into Node's C++ cost more than the few dozen bytes it moves.
    this.buffer.set(tail, start + ownerLength);
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
