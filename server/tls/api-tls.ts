import { X509Certificate } from 'node:crypto';
import type { Server as HttpsServer, ServerOptions as HttpsOptions } from 'node:https';
import { readTlsFiles, type TlsMaterial } from '../../clients/tls/tls-files.js';

/** The files behind `--tls-cert`, `--tls-key` and `--tls-ca`, and whether clients must show a certificate. */
export interface ApiTlsConfig {
  cert: string;
  key: string;
  /** The CA client certificates are checked against; only with verifyClients. */
  ca: string | undefined;
  verifyClients: boolean;
}

export const API_TLS_FLAGS = { cert: '--tls-cert', key: '--tls-key', ca: '--tls-ca' } as const;

/** What the API serves: the files' contents and when the certificate stops being valid. */
export interface ServedCertificate {
  material: TlsMaterial;
  /** The served (leaf) certificate's notAfter, in seconds since the epoch. */
  expiresAt: number;
}

/**
 * Reads and checks the files (throws TlsFileError naming the flag and file), and reads the
 * served certificate's expiry: the first certificate of --tls-cert is the one clients see.
 */
export function readApiTls(config: ApiTlsConfig): ServedCertificate {
  const material = readTlsFiles({ cert: config.cert, key: config.key, ca: config.ca }, API_TLS_FLAGS);
  const leaf = new X509Certificate(material.cert!);
  return { material, expiresAt: Date.parse(leaf.validTo) / 1000 };
}

/**
 * The https server's options. With --tls-verify-clients the handshake itself refuses a client
 * without a certificate signed by --tls-ca, before any request is read.
 */
export function httpsOptions(config: ApiTlsConfig, served: ServedCertificate): HttpsOptions {
  return {
    ...served.material,
    requestCert: config.verifyClients,
    rejectUnauthorized: config.verifyClients,
  };
}

export interface TlsReloadEvents {
  reloaded(outcome: 'ok' | 'failed'): void;
  served(expiresAt: number): void;
}

export interface TlsReloadLog {
  info(details: object, message: string): void;
  warn(details: object, message: string): void;
}

/**
 * Certificate rotation without a restart (SIGHUP): the files are read again and, only when
 * they make a usable context, become the context of new handshakes. Connections already open
 * keep the session they negotiated; a bad file leaves the old context serving.
 */
export class ApiTlsReloader {
  constructor(
    private readonly config: ApiTlsConfig,
    private readonly server: Pick<HttpsServer, 'setSecureContext'>,
    private readonly events: TlsReloadEvents,
    private readonly log: TlsReloadLog,
  ) {}

  reload(): boolean {
    let served: ServedCertificate;
    try {
      served = readApiTls(this.config);
      this.server.setSecureContext(served.material);
    } catch (error) {
      this.events.reloaded('failed');
      this.log.warn({ reason: (error as Error).message }, `TLS reload failed, still serving the previous certificate: ${(error as Error).message}`);
      return false;
    }
    this.events.reloaded('ok');
    this.events.served(served.expiresAt);
    this.log.info({ cert: this.config.cert, expiresAt: new Date(served.expiresAt * 1000).toISOString() }, 'TLS certificate reloaded; new connections get it');
    return true;
  }
}
