import type { IncomingHttpHeaders, ServerResponse } from 'node:http';
import { Writable } from 'node:stream';

/** The largest answer held back for a retry; a larger one is passed on as it comes. */
export const HOLD_LIMIT_BYTES = 64 * 1024;

/**
 * An instance's answer (a 5xx or 409 the policy retries) kept aside while another instance is
 * tried. When no other instance can be, it is what the client gets, as the instance sent it:
 * status, headers (Retry-After included) and body. Only a bounded body is kept: past
 * `HOLD_LIMIT_BYTES` (an answer with no Content-Length that grows) it goes to the client after
 * all, and the try counts as answered.
 */
export class HeldResponse extends Writable {
  private readonly chunks: Buffer[] = [];
  private size = 0;
  /** Whether the answer outgrew the limit and went to the client. */
  passedOn = false;

  constructor(
    readonly status: number,
    readonly headers: IncomingHttpHeaders,
    private readonly client: ServerResponse,
    private readonly clientHeaders: () => (string | string[])[],
  ) {
    super();
  }

  /** Whether an answer announcing `contentLength` may be held back. */
  static fits(contentLength: string | string[] | undefined): boolean {
    return contentLength === undefined || Number(contentLength) <= HOLD_LIMIT_BYTES;
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    if (this.passedOn) {
      this.passOn(chunk, callback);
      return;
    }
    this.size += chunk.length;
    this.chunks.push(chunk);
    if (this.size <= HOLD_LIMIT_BYTES) {
      callback();
      return;
    }
    this.passedOn = true;
    this.client.writeHead(this.status, this.clientHeaders());
    const held = Buffer.concat(this.chunks);
    this.chunks.length = 0;
    this.passOn(held, callback);
  }

  override _final(callback: (error?: Error | null) => void): void {
    if (this.passedOn) this.client.end(callback);
    else callback();
  }

  /** Sends the held answer to the client, unchanged but for the proxy's own headers. */
  replay(): void {
    const body = this.chunks.length === 1 ? this.chunks[0]! : Buffer.concat(this.chunks);
    this.client.writeHead(this.status, this.clientHeaders());
    this.client.end(body);
  }

  private passOn(chunk: Buffer, callback: (error?: Error | null) => void): void {
    if (this.client.write(chunk)) callback();
    else this.client.once('drain', () => callback());
  }
}
