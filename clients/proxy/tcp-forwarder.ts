import type { Socket } from 'node:net';
import type { EffectivePolicy } from '../policy/effective-policy.js';
import type { Upstream } from '../upstream/upstream-pool.js';
import type { UpstreamChooser } from '../upstream/traffic-split.js';
import type { ProxyMetrics } from './proxy-metrics.js';
import { connectPicked, tieSockets, type UpstreamConnector } from './upstream-socket.js';

export interface TcpForwarderOptions {
  pool: UpstreamChooser;
  metrics: ProxyMetrics;
  /**
   * The policy in force, read once per client connection: `retries.count` further connection
   * attempts, each to an instance not tried yet, each bounded by `tryTimeoutMs`; and
   * `limits.maxConnections` per instance.
   */
  policy: () => EffectivePolicy;
  /** A joined connection with no byte either way for this long is closed (Envoy's tcp_proxy idle_timeout); 0: never. */
  idleTimeoutMs?: number;
  /** How to reach an instance: plain TCP by default, TLS with `--upstream-tls-ca` (UpstreamTls.connect). */
  connector?: UpstreamConnector;
}

/**
 * Layer-4 forwarding for services that do not speak HTTP: each client connection is joined
 * to one instance's. Balancing and breakers work per connection: a connect error or timeout
 * is a failure and the next instance is tried; a connection that opens is a success. Nothing
 * the client sent is lost to a failed attempt, as the client's socket is read only once joined.
 */
export class TcpForwarder {
  private readonly open = new Set<Socket>();
  private readonly policy: () => EffectivePolicy;

  constructor(private readonly options: TcpForwarderOptions) {
    this.policy = options.policy;
  }

  /** For a net or tls server's connections (a TLS client arrives here once its handshake is done). */
  readonly handle = (client: Socket): void => {
    void this.forward(client);
  };

  /** Cuts every joined connection (on shutdown, after the listener stopped accepting). */
  close(): void {
    for (const socket of this.open) socket.destroy();
    this.open.clear();
  }

  private async forward(client: Socket): Promise<void> {
    const { pool, metrics } = this.options;
    const policy = this.policy();
    client.pause();
    client.on('error', () => client.destroy());
    const tried: Upstream[] = [];
    let full = 0;
    for (let attempt = 0; attempt <= policy.retries.count && !client.destroyed; attempt++) {
      // Ring-hash's key in TCP mode: the client's address, so a client keeps its instance.
      const pick = pool.choose(tried, client.remoteAddress);
      if (!pick) break;
      tried.push(pick.upstream);
      if (pick.upstream.active > policy.limits.maxConnections) {
        // At its connection cap: another instance may have room; this one learns nothing.
        pool.release(pick, 'abandoned');
        full += 1;
        attempt -= 1;
        continue;
      }
      if (attempt > 0) metrics.retried();
      const upstream = await connectPicked(pool, metrics, pick, policy.tryTimeoutMs, true, this.options.connector);
      if (!upstream) continue;
      metrics.answered('connected');
      this.join(client, upstream, () => pool.finish(pick));
      return;
    }
    if (full > 0 && full === tried.length) metrics.overflowed();
    else if (tried.length === 0) metrics.unavailable();
    metrics.answered('refused');
    client.destroy();
  }

  /** Pipes both ways; whichever side closes or fails takes the other down with it. */
  private join(client: Socket, upstream: Socket, finished: () => void): void {
    const end = tieSockets(this.open, client, upstream, finished);
    const idleMs = this.options.idleTimeoutMs ?? 0;
    // Every byte either way is a read or a write on the client's socket, so its timer alone
    // measures how long the whole connection has been idle.
    if (idleMs > 0) client.setTimeout(idleMs, end);
    client.pipe(upstream);
    upstream.pipe(client);
    client.resume();
  }
}
