import type { Socket } from 'node:net';
import { TCP_MESSAGE_LIMIT, type Transport } from './responder.js';

/** The largest TCP message plus its 2-byte length: more buffered without a whole message is garbage. */
const MAX_TCP_MESSAGE = TCP_MESSAGE_LIMIT + 2;

export type RespondToPacket = (packet: Buffer, transport: Transport) => Buffer | undefined;

/**
 * One DNS-over-TCP connection (RFC 1035 §4.2.2, RFC 7766): length-prefixed queries answered in
 * order, so pipelining just works. A peer that sends queries but does not read the answers must
 * not make the server buffer answers without bound: once the socket's write buffer is full the
 * connection stops answering and stops reading, and goes on when the peer has drained it. What
 * one connection holds is then bounded by the socket's high-water mark plus one answer on the
 * way out, and by one read chunk plus one unfinished message on the way in.
 */
export class TcpConnection {
  private pending: Buffer = Buffer.alloc(0);
  private waitingForDrain = false;

  constructor(
    private readonly socket: Socket,
    private readonly respondToPacket: RespondToPacket,
    idleMs: number,
  ) {
    socket.setNoDelay(true);
    // The idle timer also runs while waiting for a peer that never reads: it closes that one too.
    socket.setTimeout(idleMs, () => socket.destroy());
    socket.on('error', () => socket.destroy());
    socket.on('data', (chunk: Buffer) => this.receive(chunk));
    socket.on('drain', () => this.drained());
  }

  /** Bytes this connection holds: queries not answered yet, answers not yet taken by the kernel. */
  get bufferedBytes(): number {
    return this.pending.length + this.socket.writableLength;
  }

  /** True while it waits for the peer to read what was already answered. */
  get paused(): boolean {
    return this.waitingForDrain;
  }

  private receive(chunk: Buffer): void {
    this.pending = this.pending.length === 0 ? chunk : Buffer.concat([this.pending, chunk]);
    // A chunk read just before the pause took effect only waits with the rest.
    if (!this.waitingForDrain) this.respondToPending();
    else if (this.pending.length > 2 * MAX_TCP_MESSAGE + this.socket.readableHighWaterMark) this.socket.destroy();
  }

  private drained(): void {
    if (!this.waitingForDrain) return;
    this.waitingForDrain = false;
    this.respondToPending();
    if (!this.waitingForDrain) this.socket.resume();
  }

  private respondToPending(): void {
    while (this.pending.length >= 2) {
      const length = this.pending.readUInt16BE(0);
      if (this.pending.length < 2 + length) break;
      const response = this.respondToPacket(this.pending.subarray(2, 2 + length), 'tcp');
      this.pending = this.pending.subarray(2 + length);
      if (!response) continue;
      const framed = Buffer.allocUnsafe(2 + response.length);
      framed.writeUInt16BE(response.length, 0);
      response.copy(framed, 2);
      if (!this.socket.write(framed)) {
        this.waitingForDrain = true;
        this.socket.pause();
        return;
      }
    }
    if (this.pending.length > MAX_TCP_MESSAGE) this.socket.destroy();
  }
}
