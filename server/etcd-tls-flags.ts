import { z } from 'zod';
import { ConfigError, type FlagTable } from '../contract/command-line.js';
import { readTlsFiles, TlsFileError, type TlsMaterial } from '../clients/tls/tls-files.js';

/** The files' contents: the CA etcd's certificates are checked against, this client's certificate and key. */
export type EtcdTls = TlsMaterial;

/** `--etcd-ca`, `--etcd-cert`, `--etcd-key`: the same for every command that talks to etcd. */
export const etcdTlsSettings = {
  'etcd-ca': {
    default: '',
    help: "CA certificate (PEM) that etcd's server certificates are checked against, for https:// etcd URLs; without it, the default CAs (docs/security.md#tls-to-etcd)",
    schema: z.string(),
  },
  'etcd-cert': {
    default: '',
    help: "this client's certificate (PEM), for an etcd started with --client-cert-auth; needs --etcd-key",
    schema: z.string(),
  },
  'etcd-key': { default: '', help: 'the private key (PEM) of --etcd-cert', schema: z.string() },
} satisfies FlagTable;

const FLAG_NAMES = { ca: '--etcd-ca', cert: '--etcd-cert', key: '--etcd-key' };

/**
 * Checks the etcd URLs and the TLS flags together and reads the files once, so every mistake is
 * one line at start rather than a handshake failing later. The URL's scheme says whether etcd
 * is reached over TLS, as etcd's own `--listen-client-urls` do:
 *
 * - `https://` URLs: TLS. Without --etcd-ca gRPC's default CAs check etcd's certificate; without
 *   --etcd-cert no client certificate is shown (enough for an etcd without --client-cert-auth).
 * - `http://` URLs: plain. A TLS flag with them is refused: etcd3 would speak TLS to a plain
 *   port anyway, and an operator who gave a CA expects the traffic to be encrypted.
 * - A mix of both is refused: part of the traffic would go in the clear.
 *
 * Returns the files read, or undefined when no TLS flag is given.
 */
export function etcdTls(urlsFlag: string, urls: readonly string[], flags: { 'etcd-ca': string; 'etcd-cert': string; 'etcd-key': string }): EtcdTls | undefined {
  const given = (['etcd-ca', 'etcd-cert', 'etcd-key'] as const).filter((flag) => flags[flag] !== '').map((flag) => `--${flag}`);
  if (urls.length === 0) {
    if (given.length > 0) throw new ConfigError(`${given.join(', ')} ${given.length === 1 ? 'is' : 'are'} for etcd: give ${urlsFlag} too, with https:// URLs`);
    return undefined;
  }
  const plain = urls.filter((url) => url.startsWith('http://'));
  if (plain.length > 0 && plain.length < urls.length) {
    throw new ConfigError(`${urlsFlag} mixes http:// and https:// URLs: give every etcd member the same scheme (https:// for TLS)`);
  }
  if (plain.length > 0 && given.length > 0) {
    throw new ConfigError(`${given.join(', ')} need${given.length === 1 ? 's' : ''} https:// etcd URLs (TLS); ${urlsFlag} has ${plain[0]}: write https:// (etcd serves TLS on the client URLs its --listen-client-urls give as https://)`);
  }
  if (given.length === 0) return undefined;
  try {
    return readTlsFiles({ ca: flags['etcd-ca'], cert: flags['etcd-cert'], key: flags['etcd-key'] }, FLAG_NAMES);
  } catch (error) {
    if (error instanceof TlsFileError) throw new ConfigError(error.message);
    throw error;
  }
}
