import type { Duplex } from 'node:stream';
import { connect, type Socket } from 'node:net';
import type { Upstream, UpstreamPick } from '../upstream/upstream-pool.js';
import type { UpstreamChooser } from '../upstream/traffic-split.js';
import type { ProxyMetrics } from './proxy-metrics.js';

/** Opens a connection to an instance: plain TCP (`connectToUpstream`), or TLS (`UpstreamTls.connect`). */
export type UpstreamConnector = (upstream: Upstream, timeoutMs: number, allowHalfOpen: boolean) => Promise<Socket | undefined>;

/**
 * Connects to a picked instance and tells its breaker and the metrics how that went: a
 * connection that opens (over TLS: whose certificate verified) is a success (however long it then lasts), one that does not is a
 * gateway error and the pick is over. The caller calls `pool.finish` once a connection closes.
 */
export async function connectPicked(
  pool: UpstreamChooser,
  metrics: ProxyMetrics,
  pick: UpstreamPick,
  timeoutMs: number,
  allowHalfOpen: boolean,
  connector: UpstreamConnector = connectToUpstream,
): Promise<Socket | undefined> {
  const socket = await connector(pick.upstream, timeoutMs, allowHalfOpen);
  if (!socket) {
    pool.release(pick, 'failure', true);
    metrics.attempted(pick.upstream, 'failure');
    return undefined;
  }
  pool.report(pick, 'success');
  metrics.attempted(pick.upstream, 'success');
  return socket;
}

/**
 * A TCP connection to an instance, for whole-connection forwarding (TCP mode, upgrades):
 * resolves with the connected socket, or undefined on an error or after `timeoutMs`.
 */
export function connectToUpstream(upstream: Upstream, timeoutMs: number, allowHalfOpen: boolean): Promise<Socket | undefined> {
  return new Promise((resolve) => {
    const socket = connect({ host: upstream.address, port: upstream.port, allowHalfOpen });
    socket.setTimeout(timeoutMs, () => {
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

/**
 * Ties two sockets' lives together, as whole-connection forwarding (TCP mode, upgrades) needs:
 * both are kept in `open` (so a shutdown can cut them) until either closes or fails, which
 * destroys the other and calls `finished` once. Returns the function that ends them both.
 * The caller pipes the bytes.
 */
export function tieSockets<S extends Duplex>(open: Set<S>, client: S, upstream: S, finished: () => void): () => void {
  open.add(client).add(upstream);
  let done = false;
  const end = () => {
    if (done) return;
    done = true;
    open.delete(client);
    open.delete(upstream);
    client.destroy();
    upstream.destroy();
    finished();
  };
  for (const socket of [client, upstream]) socket.on('error', end).on('close', end);
  return end;
}
