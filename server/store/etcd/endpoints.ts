import { type CallOptions, InterceptingCall, type Interceptor } from '@grpc/grpc-js';
import { Etcd3, type IOptions } from 'etcd3';
import { classify, EtcdError, EtcdTlsError, type RequestKind, retryable } from './errors.js';

/** PEM contents for TLS to etcd: the CA to check etcd's certificate against, this client's certificate and key. */
export interface EtcdTlsMaterial {
  ca?: Buffer | undefined;
  cert?: Buffer | undefined;
  key?: Buffer | undefined;
}

/** One etcd member's client URL and the etcd3 client that talks only to it. */
export interface Endpoint {
  url: string;
  etcd: Etcd3;
}

// etcd3's own fault handling retries "recoverable" errors, DEADLINE_EXCEEDED included, with a
// fresh deadline each time: a timed-out write would be sent again (a committed compare-and-swap
// then reports failure) and a call could take three deadlines. It also picks a random member per
// call. We keep one etcd3 client per member with its policies passed straight through, and choose
// the member, the deadline and what to retry here.
const passThrough = { execute: async <T>(fn: () => T | Promise<T>) => fn() } as unknown as NonNullable<IOptions['faultHandling']>['global'];

const channelOptions = {
  // etcd's default --grpc-keepalive-min-time is 5 s: pinging more often gets the connection closed
  // with "too many pings". Dead members are found sooner by deadlines and watch progress checks.
  'grpc.keepalive_time_ms': 10_000,
  'grpc.keepalive_timeout_ms': 5_000,
  // gRPC's default reconnect backoff grows to 2 minutes; a restarted member should be used again soon.
  'grpc.initial_reconnect_backoff_ms': 100,
  'grpc.max_reconnect_backoff_ms': 1_000,
  // A prefix listing of a large registry exceeds gRPC's 4 MiB default; etcd itself sends any size.
  'grpc.max_receive_message_length': -1,
};

/**
 * etcd3 speaks TLS to every host once `credentials` is given, `http://` ones included, so the
 * URL's scheme decides here: `https://` gets TLS, `http://` never does (and refuses TLS files,
 * which would otherwise be silently unused).
 */
function credentials(url: string, tls: EtcdTlsMaterial | undefined): Pick<IOptions, 'credentials'> {
  const files = Boolean(tls?.ca || tls?.cert || tls?.key);
  if (!url.startsWith('https://')) {
    if (files) throw new EtcdError('rejected', `${url}: TLS files given for a plain http:// etcd URL (use https://)`);
    return {};
  }
  return {
    credentials: {
      // Typed as required, but handed to grpc-js's createSsl, where null means its default CAs:
      // the file GRPC_DEFAULT_SSL_ROOTS_FILE_PATH names, or else Node's (with NODE_EXTRA_CA_CERTS).
      rootCertificate: tls?.ca ?? (null as unknown as Buffer),
      ...(tls?.cert ? { certChain: tls.cert } : {}),
      ...(tls?.key ? { privateKey: tls.key } : {}),
    },
  };
}

/**
 * Streams opened with this metadata are cancelled by the member when it loses its leader
 * (etcd's "require leader"), instead of staying open and silent on a member cut off from the
 * quorum. etcd3 has no option for it, so it is added by a gRPC interceptor.
 */
const requireLeader: Interceptor = (options, nextCall) =>
  new InterceptingCall(nextCall(options), {
    start(metadata, listener, next) {
      metadata.set('hasleader', 'true');
      next(metadata, listener);
    },
  });

export const streamCallOptions: CallOptions = { interceptors: [requireLeader] };

/**
 * The members this client may talk to, and which one it prefers now: the same member until it
 * fails, then the next one. Sticking to one member keeps a client's reads in the order that
 * member applied them, and makes "the member this client talks to" a real thing a test can stop.
 */
export class EtcdEndpoints {
  private readonly endpoints: Endpoint[];
  private preferredIndex = 0;
  private lastContact: number | undefined;
  private closed = false;

  constructor(urls: readonly string[], tls?: EtcdTlsMaterial) {
    if (urls.length === 0) throw new EtcdError('rejected', 'no etcd endpoints given');
    this.endpoints = urls.map((url) => ({
      url,
      etcd: new Etcd3({ hosts: url, ...credentials(url, tls), grpcOptions: channelOptions, faultHandling: { host: () => passThrough!, global: passThrough! } }),
    }));
  }

  preferred(): Endpoint {
    if (this.closed) throw new EtcdError('closed', 'the etcd client is closed');
    return this.endpoints[this.preferredIndex]!;
  }

  /** The member failed: prefer the next one (unless another caller already moved on). */
  failed(endpoint: Endpoint): void {
    if (this.endpoints[this.preferredIndex] === endpoint) this.preferredIndex = (this.preferredIndex + 1) % this.endpoints.length;
  }

  /** Something came back from etcd: a response, a watch event, a keepalive. */
  heardFrom(): void {
    this.lastContact = Date.now();
  }

  /** When etcd last answered anything (ms since the epoch), or undefined if it never has. */
  lastContactAt(): number | undefined {
    return this.lastContact;
  }

  isClosed(): boolean {
    return this.closed;
  }

  /**
   * Sends a unary request, moving to the next member on failures that allow it, and gives up at
   * the deadline. A read gets at most half of what is left per member, so one member that holds
   * the connection open without answering cannot use up the whole deadline; a write gets all of
   * it, because a write that timed out cannot be sent again (its outcome is unknown).
   */
  async request<T>(kind: RequestKind, timeoutMs: number, send: (etcd: Etcd3, options: CallOptions) => Promise<T>): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    let last: EtcdError | undefined;
    // The last failed TLS handshake: the reason to give when the request ends otherwise.
    let handshake: EtcdTlsError | undefined;
    for (let attempt = 0; ; attempt++) {
      const remaining = deadline - Date.now();
      if (remaining <= 0) {
        const reason = handshake ?? last;
        throw new EtcdError('unavailable', `etcd did not answer within ${timeoutMs} ms${reason ? `: ${reason.message}` : ''}`, { cause: reason });
      }
      const endpoint = this.preferred();
      const budget = kind === 'read' && this.endpoints.length > 1 ? Math.max(remaining / 2, Math.min(remaining, 100)) : remaining;
      try {
        const result = await send(endpoint.etcd, { deadline: new Date(Date.now() + budget) });
        this.heardFrom();
        return result;
      } catch (error) {
        last = classify(error, kind, endpoint.url);
        if (last instanceof EtcdTlsError) handshake = last;
        if (this.closed) throw new EtcdError('closed', 'the etcd client is closed', { cause: last });
        if (!retryable(last, kind)) throw handshake ? new EtcdError(last.code, `${last.message} (before it: ${handshake.message})`, { cause: last }) : last;
        this.failed(endpoint);
        // After every member failed once, back off: an election takes a second or two, and
        // members that refuse at once ("no leader") would otherwise be asked in a tight loop.
        const round = Math.floor((attempt + 1) / this.endpoints.length);
        if ((attempt + 1) % this.endpoints.length === 0) {
          await pause(Math.min(25 * 2 ** round, 500, Math.max(0, deadline - Date.now())));
        }
      }
    }
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const endpoint of this.endpoints) endpoint.etcd.close();
  }
}

/**
 * Cancels a stream we are done with. Cancelling emits a CANCELLED error we asked for; etcd3's own
 * error listener would take it as the member failing and reset every channel to that member, so
 * every listener goes first.
 */
export function cancelStream(stream: { cancel(): void }): void {
  const emitter = stream as unknown as NodeJS.EventEmitter;
  emitter.removeAllListeners('data');
  emitter.removeAllListeners('error');
  emitter.removeAllListeners('end');
  emitter.on('error', () => undefined);
  stream.cancel();
}

/** A retry backoff (not test synchronisation): waits `ms` milliseconds. */
export function pause(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
