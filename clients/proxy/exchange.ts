import type { IncomingMessage, ServerResponse } from 'node:http';

/** Why an exchange was cut short. */
export type AbortReason = 'deadline' | 'client-gone';

const EXCHANGE = Symbol('beacon.exchange');

/**
 * One client request as it crosses the proxy, parsed once (CoreDNS's `request` wrapper): its
 * request id, its deadline and what the access log reports. The deadline over all tries and a
 * client that goes away both cancel the try in flight. One object and one timer per request;
 * the listeners are shared functions.
 */
export class Exchange {
  aborted = false;
  abortReason: AbortReason | undefined;
  /** Tries sent to instances. */
  tries = 0;
  /** The instance that answered last (or was tried last), for the access log. */
  instance = '';
  /** The try waiting on an instance, which an abort cancels. */
  inFlight: { abort(): void } | undefined;
  private readonly timer: NodeJS.Timeout;

  constructor(
    readonly request: IncomingMessage,
    readonly response: ServerResponse,
    readonly id: string,
    readonly started: number,
    timeoutMs: number,
  ) {
    this.timer = setTimeout(onDeadline, timeoutMs, this);
    (response as ExchangeCarrier)[EXCHANGE] = this;
    // `on`, not `once`: a response closes once, and once() would wrap the listener per request.
    response.on('close', onResponseClose);
  }

  /** The response headers went out: the deadline (until response headers) no longer applies. */
  answered(): void {
    clearTimeout(this.timer);
  }

  /** The exchange is over, whatever its outcome. */
  finish(): void {
    clearTimeout(this.timer);
  }

  abort(reason: AbortReason): void {
    if (this.aborted) return;
    this.aborted = true;
    this.abortReason = reason;
    clearTimeout(this.timer);
    this.inFlight?.abort();
  }
}

interface ExchangeCarrier {
  [EXCHANGE]?: Exchange;
}

function onDeadline(exchange: Exchange): void {
  exchange.abort('deadline');
}

/**
 * A response that closes before it finished, without an error of its own: the client went
 * away. (One destroyed with an error is undici passing on an instance that broke off.)
 */
function onResponseClose(this: ServerResponse): void {
  const exchange = (this as ExchangeCarrier)[EXCHANGE];
  if (exchange && !this.writableFinished && !this.errored) exchange.abort('client-gone');
}
