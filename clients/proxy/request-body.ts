import type { IncomingMessage } from 'node:http';
import { Readable } from 'node:stream';

/**
 * A client's request body as one try sends it. It starts reading the client only when the
 * upstream connection asks for the first chunk, so a try that fails to connect leaves the body
 * unread and the request can go to another instance. It is also what undici destroys when a
 * try fails, which would otherwise be the client's own request (and its socket).
 */
export class RequestBody extends Readable {
  private started = false;
  private readonly onData = (chunk: Buffer) => {
    if (!this.push(chunk)) this.source.pause();
  };
  private readonly onEnd = () => this.push(null);
  private readonly onError = (error: Error) => this.destroy(error);

  constructor(private readonly source: IncomingMessage) {
    super();
  }

  /** Whether this try has taken any of the client's body (then no other try can send it). */
  static untouched(source: IncomingMessage): boolean {
    return !source.readableDidRead;
  }

  override _read(): void {
    if (this.started) {
      this.source.resume();
      return;
    }
    this.started = true;
    this.source.on('data', this.onData);
    this.source.once('end', this.onEnd);
    this.source.once('error', this.onError);
    if (this.source.readableEnded) this.push(null);
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    this.source.off('data', this.onData);
    this.source.off('end', this.onEnd);
    this.source.off('error', this.onError);
    callback(error);
  }
}
