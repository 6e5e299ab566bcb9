/** The largest answer held back for a retry; a larger one is passed on as it comes. */
export const HOLD_LIMIT_BYTES = 64 * 1024;

/**
 * An instance's answer (a 5xx or 409 the policy retries) kept aside while another instance is
 * tried. When no other instance can be, it is what the client gets, as the instance sent it:
 * status, headers (Retry-After included) and body. Only a bounded body is kept: past
 * `HOLD_LIMIT_BYTES` (an answer with no Content-Length that grows) the try passes it on to the
 * client after all and counts as answered.
 */
export class HeldResponse {
  private readonly chunks: Buffer[] = [];
  private size = 0;

  constructor(
    readonly status: number,
    /** As the client gets them (answerHead). */
    readonly headers: string[],
  ) {}

  /** Whether an answer announcing `contentLength` may be held back. */
  static fits(contentLength: string | undefined): boolean {
    return contentLength === undefined || Number(contentLength) <= HOLD_LIMIT_BYTES;
  }

  /** Keeps a chunk of the body; false once the body outgrew the limit (everything kept is still here). */
  keep(chunk: Buffer): boolean {
    this.size += chunk.length;
    this.chunks.push(chunk);
    return this.size <= HOLD_LIMIT_BYTES;
  }

  /** The body kept so far. */
  get body(): Buffer {
    return this.chunks.length === 1 ? this.chunks[0]! : Buffer.concat(this.chunks);
  }
}
