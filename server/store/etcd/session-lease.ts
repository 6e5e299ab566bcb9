import type { IDuplexStream, ILeaseKeepAliveRequest, ILeaseKeepAliveResponse } from 'etcd3';
import { cancelStream, type Endpoint, type EtcdEndpoints, streamCallOptions } from './endpoints.js';
import { classify, EtcdError } from './errors.js';
import type { LeaseId } from './types.js';

/**
 * Why a lease ended: `revoked` (etcd says it no longer exists), `expired` (no keepalive was
 * confirmed for a whole TTL, so etcd may have expired it: act as if it had), `closed` (this
 * process revoked or released it, or closed the client).
 */
export interface LeaseLoss {
  reason: 'revoked' | 'expired' | 'closed';
  error?: EtcdError;
}

type KeepAliveStream = IDuplexStream<ILeaseKeepAliveRequest, ILeaseKeepAliveResponse>;

/**
 * A lease kept alive for as long as this process runs: a Beacon node's session. It is written
 * here rather than with etcd3's Lease, which reports a loss only after 2×TTL without a keepalive
 * (microsoft/etcd3#155), long after etcd has deleted the keys.
 *
 * A keepalive goes out every TTL/3 on one stream; each must be answered within the request
 * deadline, or the stream is dropped and the next member is tried. `expiresAt` is the earliest
 * moment etcd could expire the lease: the send time of the last confirmed keepalive plus the TTL
 * etcd granted. When that moment passes without a newer confirmation, the lease is `expired`.
 */
export class SessionLease {
  /** Settles once, when the lease ends for any reason. */
  readonly lost: Promise<LeaseLoss>;
  private resolveLost!: (loss: LeaseLoss) => void;
  private ended = false;
  private expiry: number;
  private stream: KeepAliveStream | undefined;
  private endpoint: Endpoint | undefined;
  private pending: { resolve: (ttl: number) => void; reject: (error: EtcdError) => void } | undefined;
  private beatTimer: NodeJS.Timeout | undefined;
  private expiryTimer: NodeJS.Timeout | undefined;
  private failures = 0;

  /** Grants a lease of `ttlSeconds` and starts keeping it alive. */
  static async grant(endpoints: EtcdEndpoints, ttlSeconds: number, timeoutMs: number): Promise<SessionLease> {
    if (!Number.isInteger(ttlSeconds) || ttlSeconds < 2) throw new EtcdError('rejected', `a session lease needs a whole TTL of at least 2 s, got ${ttlSeconds}`);
    const sentAt = Date.now();
    const granted = await endpoints.request('write', timeoutMs, (etcd, options) => etcd.leaseClient.leaseGrant({ TTL: ttlSeconds }, options));
    if (granted.error) throw new EtcdError('rejected', `etcd refused the lease: ${granted.error}`);
    return new SessionLease(endpoints, granted.ID, Number(granted.TTL), sentAt + Number(granted.TTL) * 1000, timeoutMs);
  }

  private constructor(
    private readonly endpoints: EtcdEndpoints,
    readonly id: LeaseId,
    readonly ttlSeconds: number,
    expiresAt: number,
    private readonly timeoutMs: number,
  ) {
    this.lost = new Promise((resolve) => (this.resolveLost = resolve));
    this.expiry = expiresAt;
    this.armExpiry();
    this.schedule(this.interval());
  }

  /** The earliest moment (ms since the epoch) etcd could expire the lease, as far as we know. */
  expiresAt(): number {
    return this.expiry;
  }

  isAlive(): boolean {
    return !this.ended;
  }

  /** Deletes the lease and every key attached to it now. */
  async revoke(): Promise<void> {
    this.end({ reason: 'closed' });
    try {
      await this.endpoints.request('write', this.timeoutMs, (etcd, options) => etcd.leaseClient.leaseRevoke({ ID: this.id }, options));
    } catch (error) {
      if (!(error instanceof EtcdError && error.code === 'lease-not-found')) throw error;
    }
  }

  /** Stops the keepalives and lets etcd expire the lease after its TTL (a crash, as etcd sees it). */
  release(): void {
    this.end({ reason: 'closed' });
  }

  private interval(): number {
    return (this.ttlSeconds * 1000) / 3;
  }

  private schedule(ms: number): void {
    if (this.ended) return;
    this.beatTimer = setTimeout(() => void this.beat(), ms);
    this.beatTimer.unref();
  }

  private armExpiry(): void {
    clearTimeout(this.expiryTimer);
    this.expiryTimer = setTimeout(() => this.expire(), Math.max(0, this.expiry - Date.now()));
    this.expiryTimer.unref();
  }

  private async beat(): Promise<void> {
    if (this.ended) return;
    const sentAt = Date.now();
    try {
      const ttl = await this.keepAliveOnce(Math.min(this.timeoutMs, this.interval()));
      if (this.ended) return;
      if (ttl <= 0) {
        this.end({ reason: 'revoked', error: new EtcdError('lease-not-found', `etcd no longer knows lease ${this.id}`) });
        return;
      }
      this.failures = 0;
      this.endpoints.heardFrom();
      this.expiry = Math.max(this.expiry, sentAt + ttl * 1000);
      this.armExpiry();
      this.schedule(this.interval());
    } catch (error) {
      if (this.ended) return;
      const failure = error instanceof EtcdError ? error : classify(error, 'read', this.endpoint?.url ?? '?');
      if (failure.code === 'lease-not-found') {
        this.end({ reason: 'revoked', error: failure });
        return;
      }
      if (this.endpoint) this.endpoints.failed(this.endpoint);
      this.dropStream();
      this.failures++;
      this.schedule(Math.min(100 * 2 ** (this.failures - 1), this.interval()));
    }
  }

  /** One keepalive on the (re)opened stream; resolves with the TTL etcd answered (0: gone). */
  private async keepAliveOnce(timeoutMs: number): Promise<number> {
    const stream = this.stream ?? (await this.openStream());
    return new Promise<number>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending = undefined;
        reject(new EtcdError('unavailable', `etcd ${this.endpoint?.url} did not answer a keepalive within ${timeoutMs} ms`));
      }, timeoutMs);
      this.pending = {
        resolve: (ttl) => (clearTimeout(timer), resolve(ttl)),
        reject: (error) => (clearTimeout(timer), reject(error)),
      };
      stream.write({ ID: this.id });
    });
  }

  private async openStream(): Promise<KeepAliveStream> {
    const endpoint = this.endpoints.preferred();
    let stream: KeepAliveStream;
    try {
      stream = await endpoint.etcd.leaseClient.leaseKeepAlive(streamCallOptions);
    } catch (error) {
      this.endpoint = endpoint;
      throw classify(error, 'read', endpoint.url);
    }
    if (this.ended) {
      cancelStream(stream);
      throw new EtcdError('closed', 'the lease was closed');
    }
    const failed = (error: EtcdError) => {
      if (stream !== this.stream) return;
      this.dropStream();
      this.pending?.reject(error);
      this.pending = undefined;
    };
    stream.on('data', (response: ILeaseKeepAliveResponse) => {
      const pending = this.pending;
      this.pending = undefined;
      pending?.resolve(Number(response.TTL));
    });
    stream.on('error', (error: unknown) => failed(classify(error, 'read', endpoint.url)));
    stream.on('end', () => failed(new EtcdError('unavailable', `etcd ${endpoint.url} ended the keepalive stream`)));
    this.stream = stream;
    this.endpoint = endpoint;
    return stream;
  }

  private dropStream(): void {
    const stream = this.stream;
    this.stream = undefined;
    if (!stream) return;
    cancelStream(stream);
  }

  private expire(): void {
    if (this.ended) return;
    const silentMs = Date.now() - (this.expiry - this.ttlSeconds * 1000);
    this.end({ reason: 'expired', error: new EtcdError('unavailable', `no keepalive for lease ${this.id} was confirmed in ${silentMs} ms (TTL ${this.ttlSeconds} s)`) });
    // If etcd still has it (we only lost contact), the session is over all the same: remove it so
    // no key outlives the session that this process already gave up.
    this.endpoints
      .request('write', this.timeoutMs, (etcd, options) => etcd.leaseClient.leaseRevoke({ ID: this.id }, options))
      .catch(() => undefined); // best effort: etcd expires it by itself anyway
  }

  private end(loss: LeaseLoss): void {
    if (this.ended) return;
    this.ended = true;
    clearTimeout(this.beatTimer);
    clearTimeout(this.expiryTimer);
    this.pending?.reject(new EtcdError('closed', 'the lease ended'));
    this.pending = undefined;
    this.dropStream();
    this.resolveLost(loss);
  }
}
