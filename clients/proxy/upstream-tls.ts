import { isIP, type Socket } from 'node:net';
import { type ConnectionOptions, connect as tlsConnect } from 'node:tls';
import type { Logger } from 'pino';
import { buildConnector, type Dispatcher, Pool } from 'undici';
import type { TlsMaterial } from '../tls/tls-files.js';
import type { Upstream } from '../upstream/upstream-pool.js';
import type { ProxyMetrics } from './proxy-metrics.js';

/**
 * Certificate checks that failed (OpenSSL's X509 verify results as Node names them, and Node's
 * own name check): each is its own `reason` label. The list is closed, so the label is bounded.
 */
const VERIFY_FAILURES = new Set([
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'CERT_SIGNATURE_FAILURE',
  'CERT_NOT_YET_VALID',
  'CERT_HAS_EXPIRED',
  'CERT_REVOKED',
  'CERT_UNTRUSTED',
  'CERT_REJECTED',
  'CERT_CHAIN_TOO_LONG',
  'INVALID_CA',
  'INVALID_PURPOSE',
  'PATH_LENGTH_EXCEEDED',
  'HOSTNAME_MISMATCH',
  'ERROR_IN_CERT_NOT_BEFORE_FIELD',
  'ERROR_IN_CERT_NOT_AFTER_FIELD',
  'UNABLE_TO_DECODE_ISSUER_PUBLIC_KEY',
  'ERR_TLS_CERT_ALTNAME_INVALID',
]);

/**
 * The metric's reason for a TLS failure: the verify code, or `handshake` for any other failed
 * handshake (OpenSSL's `ERR_SSL_*`: no common protocol, an alert, an instance speaking plain
 * HTTP); undefined when the error is not a TLS failure. Either way nothing of the request was
 * sent: the connection never opened.
 */
export function tlsFailureReason(code: string | undefined): string | undefined {
  if (code === undefined) return undefined;
  if (VERIFY_FAILURES.has(code)) return code;
  return code.startsWith('ERR_SSL_') ? 'handshake' : undefined;
}

/** How a TLS connection to an instance went: fed to the metrics and the log. */
export interface UpstreamTlsWatcher {
  failed(upstream: Upstream, error: NodeJS.ErrnoException, reason: string): void;
  verified(upstream: Upstream): void;
}

/**
 * TLS from the proxy to its instances (`--upstream-tls-ca`, and `--upstream-tls-cert/-key` for
 * instances that require a client certificate). The name checked is the instance's registered
 * `meta["tls-server-name"]` when set, else its address (an IP SAN or a DNS name). Decided when
 * a connection pool is made, so a request pays nothing for it.
 */
export class UpstreamTls {
  constructor(
    private readonly material: TlsMaterial,
    private readonly watcher: UpstreamTlsWatcher,
  ) {}

  /** The name the instance's certificate must carry. */
  static serverName(upstream: Upstream): string {
    return upstream.tlsServerName ?? upstream.address;
  }

  /** A keep-alive pool to the instance over TLS (HTTP mode). */
  pool(upstream: Upstream, options: { connections: number; connectTimeoutMs: number }): Pool {
    const inner = buildConnector({ ...this.material, timeout: options.connectTimeoutMs, ...sni(upstream) });
    const connect: buildConnector.connector = (connectOptions, callback) => {
      // undici passes the request's servername (from its Host header); the instance's is the one to check.
      inner({ ...connectOptions, servername: undefined as unknown as string }, (error, socket) => {
        if (error) this.report(upstream, error);
        else this.watcher.verified(upstream);
        (callback as (error: Error | null, socket: Socket | null) => void)(error, socket);
      });
    };
    return new ServerNamedPool(`https://${upstream.hostPort}`, UpstreamTls.serverName(upstream), { connections: options.connections, connect });
  }

  /** A TLS connection to the instance, verified (TCP mode, upgrades); undefined on any failure or after `timeoutMs`. An UpstreamConnector. */
  readonly connect = (upstream: Upstream, timeoutMs: number, allowHalfOpen: boolean): Promise<Socket | undefined> =>
    new Promise((resolve) => {
      // tls.connect passes allowHalfOpen to its socket, though its type leaves it out.
      const options: ConnectionOptions & { allowHalfOpen: boolean } = { ...this.material, host: upstream.address, port: upstream.port, allowHalfOpen, ...sni(upstream) };
      const socket = tlsConnect(options);
      socket.setTimeout(timeoutMs, () => {
        socket.destroy();
        resolve(undefined);
      });
      socket.once('error', (error) => {
        this.report(upstream, error);
        resolve(undefined);
      });
      socket.once('secureConnect', () => {
        socket.setTimeout(0);
        socket.removeAllListeners('error');
        this.watcher.verified(upstream);
        resolve(socket);
      });
    });

  private report(upstream: Upstream, error: NodeJS.ErrnoException): void {
    const reason = tlsFailureReason(error.code);
    if (reason !== undefined) this.watcher.failed(upstream, error, reason);
  }
}

/**
 * The SNI to send: the registered name, or a DNS address. Not an IP address (RFC 6066 §3
 * forbids it; Node warns): then Node checks the certificate's IP SANs against the address.
 */
function sni(upstream: Upstream): { servername?: string } {
  const name = upstream.tlsServerName ?? (isIP(upstream.address) === 0 ? upstream.address : undefined);
  return name === undefined ? {} : { servername: name };
}

/**
 * undici gives each request a TLS server name from its Host header and reconnects when it
 * changes: behind a proxy that would check the client's name against the instance and drop
 * connections as Host headers vary. Every request through this pool carries the instance's.
 */
class ServerNamedPool extends Pool {
  constructor(
    url: string,
    private readonly servername: string,
    options: Pool.Options,
  ) {
    super(url, options);
  }

  override dispatch(options: Dispatcher.DispatchOptions, handler: Dispatcher.DispatchHandler): boolean {
    // A DispatchOptions field undici reads though its types leave it out (lib/core/request.js).
    (options as { servername?: string }).servername = this.servername;
    return super.dispatch(options, handler);
  }
}

/**
 * The watcher `beacon proxy` uses: every failure counted by instance and reason, and logged
 * (warn) once per instance per change of reason, not per request; a verified connection
 * after failures is logged once too.
 */
export function loggedTlsWatcher(metrics: ProxyMetrics, log: Logger): UpstreamTlsWatcher {
  const lastReason = new Map<string, string>();
  return {
    failed(upstream, error, reason) {
      metrics.tlsFailed(upstream, reason);
      const detail = reason === 'handshake' ? error.code : reason;
      if (lastReason.get(upstream.id) === detail) return;
      lastReason.set(upstream.id, detail!);
      log.warn({ instance: upstream.id, address: upstream.hostPort, serverName: UpstreamTls.serverName(upstream), reason: detail, err: error.message }, 'TLS to instance failed: counted as a connect failure');
    },
    verified(upstream) {
      if (!lastReason.delete(upstream.id)) return;
      log.info({ instance: upstream.id, address: upstream.hostPort }, 'TLS to instance verified again');
    },
  };
}
