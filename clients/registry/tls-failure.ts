import { isIP } from 'node:net';
import { connect } from 'node:tls';
import type { TlsMaterial } from '../tls/tls-files.js';

/**
 * What fixes a failed TLS handshake with the registry, for a caller to phrase in its own terms
 * (the CLI names its flags, a library user its options):
 *
 * - `ca`: trust the CA that signed the registry's certificate.
 * - `client_certificate`: present a client certificate the registry trusts.
 * - `registry_name`: reach the registry by a name its certificate is for.
 * - `https_url` / `http_url`: the registry speaks the other scheme.
 * - `registry_certificate`: nothing on this side; the registry's certificate must be renewed.
 */
export type TlsRemedy = 'ca' | 'client_certificate' | 'registry_name' | 'https_url' | 'http_url' | 'registry_certificate';

export interface TlsFailure {
  /** One line: what went wrong, with node's or openssl's code. */
  reason: string;
  remedy: TlsRemedy;
}

/** Verification codes (openssl's X509_V_ERR_* names, as node reports them) meaning "signed by no CA this side trusts". */
const UNTRUSTED = new Set([
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'CERT_SIGNATURE_FAILURE',
  'CERT_UNTRUSTED',
  'CERT_REJECTED',
]);

/** The failure a connection error stands for, from its code alone; undefined when it is not a TLS failure. */
export function tlsFailureOf(error: unknown): TlsFailure | undefined {
  const code = (error as { code?: unknown }).code;
  if (typeof code !== 'string') return undefined;
  if (UNTRUSTED.has(code)) return { reason: `the registry's certificate is not trusted (${code})`, remedy: 'ca' };
  if (code === 'ERR_TLS_CERT_ALTNAME_INVALID') {
    return { reason: `the registry's certificate is not for this host (${code}: ${(error as Error).message})`, remedy: 'registry_name' };
  }
  if (code === 'CERT_HAS_EXPIRED' || code === 'CERT_NOT_YET_VALID') return { reason: `the registry's certificate is not valid now (${code})`, remedy: 'registry_certificate' };
  if (code === 'ERR_SSL_WRONG_VERSION_NUMBER' || code === 'ERR_SSL_PACKET_LENGTH_TOO_LONG') {
    return { reason: `the registry does not speak TLS on this port (${code})`, remedy: 'http_url' };
  }
  if (code === 'ERR_SSL_TLSV13_ALERT_CERTIFICATE_REQUIRED') return { reason: `the registry asks for a client certificate (${code})`, remedy: 'client_certificate' };
  if (/^ERR_SSL_(TLSV1|SSLV3)_ALERT_(UNKNOWN_CA|BAD_CERTIFICATE|CERTIFICATE_UNKNOWN|DECRYPT_ERROR)$/.test(code)) {
    return { reason: `the registry refused the client certificate (${code})`, remedy: 'client_certificate' };
  }
  return undefined;
}

/** A connection the registry closed before any answer (undici's "other side closed"): the one failure worth a probe. */
export function closedBeforeAnswer(error: unknown): boolean {
  return (error as { code?: unknown }).code === 'UND_ERR_SOCKET';
}

/**
 * Why the registry closed a connection without answering, when TLS is the reason. In TLS 1.3 a
 * server checks the client's certificate after the client's handshake is done, so undici sees
 * only a closed socket; a bare TLS connection of our own reads the server's alert instead. Over
 * http://, a successful handshake means the registry wanted https. Runs only on that failure,
 * so plain requests never pay for it; undefined when the probe finds nothing TLS-shaped.
 */
export function probeTls(base: URL, tls: TlsMaterial | undefined, timeoutMs: number): Promise<TlsFailure | undefined> {
  const https = base.protocol === 'https:';
  const host = base.hostname.replace(/^\[(.*)\]$/, '$1');
  const port = Number(base.port || (https ? 443 : 80));
  return new Promise((resolve) => {
    let answered = false;
    let settled = false;
    const socket = connect({
      host,
      port,
      // SNI carries names only (RFC 6066 §3).
      ...(isIP(host) === 0 ? { servername: host } : {}),
      ALPNProtocols: ['http/1.1'],
      ...(https ? (tls ?? {}) : { rejectUnauthorized: false }),
    });
    const finish = (failure: TlsFailure | undefined) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      resolve(failure);
    };
    const timer = setTimeout(() => finish(undefined), timeoutMs);
    socket.once('secureConnect', () => {
      if (!https) {
        finish({ reason: 'the registry speaks TLS on this port', remedy: 'https_url' });
        return;
      }
      socket.write(`GET /healthz HTTP/1.1\r\nhost: ${base.host}\r\nconnection: close\r\n\r\n`);
    });
    socket.on('data', () => {
      answered = true;
      finish(undefined);
    });
    socket.once('error', (error) => finish(https ? tlsFailureOf(error) : undefined));
    socket.once('close', () => {
      // Handshake done, request sent, closed without a byte: the registry did not take our certificate.
      if (https && socket.authorized && !answered) {
        finish({
          reason: tls?.cert
            ? 'the registry closed the connection after the handshake: it does not accept the client certificate'
            : 'the registry closed the connection after the handshake: it asks for a client certificate',
          remedy: 'client_certificate',
        });
        return;
      }
      finish(undefined);
    });
  });
}
