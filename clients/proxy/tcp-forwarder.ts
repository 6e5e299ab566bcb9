import { connect, type Socket } from 'node:net';
import type { Upstream, UpstreamPool } from '../upstream/upstream-pool.js';
import type { ProxyMetrics } from './proxy-metrics.js';

export interface TcpForwarderOptions {
  pool: UpstreamPool;
  metrics: ProxyMetrics;
  /** Further connection attempts after the first, each to an instance not tried yet. */
  retries: number;
  connectTimeoutMs: number;
}

/**
 * Layer-4 forwarding for services that do not speak HTTP: each client connection is joined
 * to one instance's. Balancing and breakers work per connection: a connect error or timeout
 * is a failure and the next instance is tried; a connection that opens is a success. Nothing
 * the client sent is lost to a failed attempt, as the client's socket is read only once joined.
 */
export class TcpForwarder {
  private readonly open = new Set<Socket>();

  constructor(private readonly options: TcpForwarderOptions) {}

  readonly handle = (client: Socket): void => {
    void this.forward(client);
  };

  /** Cuts every joined connection (on shutdown, after the listener stopped accepting). */
  close(): void {
    for (const socket of this.open) socket.destroy();
    this.open.clear();
  }

  private async forward(client: Socket): Promise<void> {
    const { pool, metrics, retries } = this.options;
    client.pause();
    client.on('error', () => client.destroy());
    const tried: Upstream[] = [];
    for (let attempt = 0; attempt <= retries && !client.destroyed; attempt++) {
      const pick = pool.choose(tried);
      if (!pick) break;
      tried.push(pick.upstream);
      if (attempt > 0) metrics.retried();
      const upstream = await this.connect(pick.upstream);
      if (!upstream) {
        pool.release(pick, 'failure', true);
        metrics.attempted(pick.upstream, 'failure');
        continue;
      }
      pool.report(pick, 'success');
      metrics.attempted(pick.upstream, 'success');
      metrics.answered('connected');
      this.join(client, upstream, () => pool.finish(pick));
      return;
    }
    if (tried.length === 0) metrics.unavailable();
    metrics.answered('refused');
    client.destroy();
  }

  /** Resolves with the connected socket, or undefined on an error or timeout. */
  private connect(upstream: Upstream): Promise<Socket | undefined> {
    return new Promise((resolve) => {
      const socket = connect({ host: upstream.address, port: upstream.port, allowHalfOpen: true });
      socket.setTimeout(this.options.connectTimeoutMs, () => {
        socket.destroy();
        resolve(undefined);
      });
      socket.once('error', () => resolve(undefined));
      socket.once('connect', () => {
        socket.setTimeout(0);
        socket.removeAllListeners('error');
        resolve(socket);
      });
    });
  }

  /** Pipes both ways; whichever side closes or fails takes the other down with it. */
  private join(client: Socket, upstream: Socket, finished: () => void): void {
    this.open.add(client);
    this.open.add(upstream);
    let done = false;
    const end = () => {
      if (done) return;
      done = true;
      this.open.delete(client);
      this.open.delete(upstream);
      client.destroy();
      upstream.destroy();
      finished();
    };
    upstream.on('error', end);
    client.on('error', end);
    upstream.on('close', end);
    client.on('close', end);
    client.pipe(upstream);
    upstream.pipe(client);
    client.resume();
  }
}
