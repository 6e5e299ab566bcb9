import type { IDuplexStream, IEvent, IWatchRequest, IWatchResponse } from 'etcd3';
import { cancelStream, type Endpoint, type EtcdEndpoints, pause, streamCallOptions } from './endpoints.js';
import { classify, EtcdError } from './errors.js';
import type { WatchEvent } from './types.js';

export type OnEvents = (events: WatchEvent[], revision: number) => void | Promise<void>;
export type OnCompacted = (compactRevision: number) => void;
/** Told of every reconnect and of the error that ends the watch (`handler-failed`). */
export type OnWatchError = (error: EtcdError) => void;

export interface WatchStats {
  /** The last revision whose events were handed to `onEvents` and returned. */
  lastAppliedRevision: number;
  /** Streams opened after the first (each resumes from `lastAppliedRevision + 1`). */
  reconnects: number;
  /** Events dropped because their revision was already applied (replays, etcd#15275). */
  replaysDropped: number;
}

/**
 * One etcd watch over a key prefix that survives member failures. It keeps its own stream
 * rather than etcd3's Watcher, which resumes from response headers: a header's revision can be
 * ahead of the events delivered so far (while catching up, or in a progress notification), so a
 * reconnect at that moment skips events. Here the resume point is only ever the revision of the
 * last event applied.
 *
 * A stream is checked for life: when nothing arrived for one `livenessMs`, a progress request is
 * sent; when nothing arrives for another, the member is taken as unresponsive and the watch
 * reconnects to the next one. (A member cut off from its quorum cancels the stream itself: it is
 * opened with "require leader".)
 */
export class PrefixWatch {
  /** Settles when the watch has stopped for good (cancelled, compacted, or its handler failed). */
  readonly ended: Promise<void>;
  private endedResolve!: () => void;
  private lastApplied: number;
  /** The highest revision received (applied, or queued to be): what a replay is measured against. */
  private lastReceived: number;
  private stream: IDuplexStream<IWatchRequest, IWatchResponse> | undefined;
  private endpoint: Endpoint | undefined;
  private stopped = false;
  private heardSinceCheck = false;
  private progressAsked = false;
  private readonly livenessTimer: NodeJS.Timeout;
  /** Responses are applied one at a time, in order, even when `onEvents` is async. */
  private applying: Promise<void> = Promise.resolve();
  private readonly statsNow = { reconnects: 0, replaysDropped: 0 };
  private failures = 0;

  constructor(
    private readonly endpoints: EtcdEndpoints,
    private readonly prefix: string,
    fromRevision: number,
    private readonly onEvents: OnEvents,
    private readonly onCompacted: OnCompacted,
    private readonly onError: OnWatchError,
    livenessMs: number,
  ) {
    this.ended = new Promise((resolve) => (this.endedResolve = resolve));
    this.lastApplied = fromRevision - 1;
    this.lastReceived = this.lastApplied;
    this.livenessTimer = setInterval(() => this.checkLiveness(), livenessMs);
    this.livenessTimer.unref();
    void this.connect();
  }

  stats(): WatchStats {
    return { lastAppliedRevision: this.lastApplied, ...this.statsNow };
  }

  /** Stops the watch; no callback runs after this resolves (except one already running). */
  async cancel(): Promise<void> {
    this.stop();
    await this.applying;
  }

  private stop(): void {
    this.stopped = true;
    clearInterval(this.livenessTimer);
    this.closeStream();
    this.endedResolve();
  }

  private async connect(): Promise<void> {
    if (this.stopped) return;
    let endpoint: Endpoint;
    try {
      endpoint = this.endpoints.preferred();
    } catch {
      this.stop(); // preferred() throws only once the client is closed
      return;
    }
    try {
      const stream = await endpoint.etcd.watchClient.watch(streamCallOptions);
      if (this.stopped) {
        cancelStream(stream);
        return;
      }
      this.stream = stream;
      this.endpoint = endpoint;
      this.heardSinceCheck = true;
      this.progressAsked = false;
      stream.on('data', (response: IWatchResponse) => this.receive(stream, response));
      stream.on('error', (error: unknown) => this.lost(stream, classify(error, 'read', endpoint.url)));
      stream.on('end', () => this.lost(stream, new EtcdError('unavailable', `etcd ${endpoint.url} ended the watch stream`)));
      const [key, rangeEnd] = prefixRange(this.prefix);
      stream.write({ create_request: { key, range_end: rangeEnd, start_revision: this.lastApplied + 1, progress_notify: true } });
    } catch (error) {
      this.lost(undefined, classify(error, 'read', endpoint.url));
    }
  }

  private receive(stream: IDuplexStream<IWatchRequest, IWatchResponse>, response: IWatchResponse): void {
    if (stream !== this.stream || this.stopped) return;
    this.heardSinceCheck = true;
    this.progressAsked = false;
    this.endpoints.heardFrom();
    if (response.canceled) {
      const compactRevision = Number(response.compact_revision);
      if (compactRevision > 0) {
        // The history we need is gone: the caller re-lists and starts a new watch.
        this.stop();
        this.applying = this.applying
          .then(() => this.onCompacted(compactRevision))
          .catch((error: unknown) => this.onError(new EtcdError('handler-failed', `the compaction handler failed (compacted at ${compactRevision})`, { cause: error })));
        return;
      }
      this.lost(stream, new EtcdError('unavailable', `etcd ${this.endpoint?.url} cancelled the watch: ${response.cancel_reason || 'no reason given'}`));
      return;
    }
    this.failures = 0;
    if (response.events.length === 0) return; // created, or a progress notification: proves nothing applied
    const events: WatchEvent[] = [];
    for (const event of response.events) {
      const change = toWatchEvent(event);
      if (change.modRevision <= this.lastReceived) this.statsNow.replaysDropped++;
      else events.push(change);
    }
    if (events.length === 0) return;
    const revision = events[events.length - 1]!.modRevision;
    this.lastReceived = revision;
    this.applying = this.applying.then(async () => {
      if (this.stopped) return;
      try {
        await this.onEvents(events, revision);
        this.lastApplied = Math.max(this.lastApplied, revision);
      } catch (error) {
        this.stop();
        this.onError(new EtcdError('handler-failed', `the watch handler failed at revision ${revision}; the watch stopped`, { cause: error }));
      }
    });
  }

  /** The stream failed: report it, then resume from the last applied revision on the next member. */
  private lost(stream: IDuplexStream<IWatchRequest, IWatchResponse> | undefined, error: EtcdError): void {
    if (this.stopped || (stream !== undefined && stream !== this.stream)) return;
    if (this.endpoint) this.endpoints.failed(this.endpoint);
    this.closeStream();
    this.onError(error);
    this.failures++;
    this.statsNow.reconnects++;
    // Resume only after the events already received are applied, so the resume point is exact.
    const backoff = Math.min(50 * 2 ** Math.min(this.failures - 1, 5), 1_000);
    void this.applying
      .then(() => pause(backoff))
      .then(() => {
        this.lastReceived = this.lastApplied;
        return this.connect();
      });
  }

  private checkLiveness(): void {
    const stream = this.stream;
    if (!stream || this.stopped) return;
    if (this.heardSinceCheck) {
      this.heardSinceCheck = false;
      return;
    }
    if (!this.progressAsked) {
      this.progressAsked = true;
      stream.write({ progress_request: {} });
      return;
    }
    this.lost(stream, new EtcdError('unavailable', `etcd ${this.endpoint?.url} stopped answering the watch stream`));
  }

  private closeStream(): void {
    const stream = this.stream;
    this.stream = undefined;
    if (!stream) return;
    cancelStream(stream);
  }
}

function toWatchEvent(event: IEvent): WatchEvent {
  return {
    type: event.type === 'Delete' ? 'delete' : 'put',
    key: event.kv.key.toString(),
    value: event.kv.value ?? Buffer.alloc(0),
    modRevision: Number(event.kv.mod_revision),
    createRevision: Number(event.kv.create_revision),
  };
}

/** [key, range_end) covering every key that starts with `prefix` (all keys for ""). */
export function prefixRange(prefix: string): [Buffer, Buffer] {
  const start = Buffer.from(prefix);
  const end = Buffer.from(start);
  for (let i = end.length - 1; i >= 0; i--) {
    if (end[i]! < 0xff) {
      end[i]!++;
      return [start, end.subarray(0, i + 1)];
    }
  }
  return [start.length ? start : Buffer.from([0]), Buffer.from([0])];
}
