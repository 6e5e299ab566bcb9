import { ConfigError } from '../../contract/command-line.js';
import type { RegistryClientError } from '../registry/errors.js';
import { readTlsFiles, TlsFileError, type TlsMaterial } from './tls-files.js';

/** The values of contract/command-line.ts's registryTlsFlags, as parsed ('' when not given). */
export interface RegistryTlsFlags {
  'tls-ca': string;
  'tls-cert': string;
  'tls-key': string;
}

const FLAG_NAMES = { ca: '--tls-ca', cert: '--tls-cert', key: '--tls-key' } as const;

/**
 * The files `--tls-ca`, `--tls-cert` and `--tls-key` name, read and checked once; undefined
 * when none is given (plain http, or https trusting the system's CAs). A file that cannot be
 * used, or TLS flags with an http:// registry, is a ConfigError naming the flag.
 */
export function registryTlsOf(registry: string, flags: RegistryTlsFlags): TlsMaterial | undefined {
  const given = (['tls-ca', 'tls-cert', 'tls-key'] as const).filter((flag) => flags[flag] !== '');
  if (given.length === 0) return undefined;
  if (!registry.startsWith('https:')) {
    throw new ConfigError(`--${given[0]} is for an https:// registry, and --registry is ${registry} (use https://, or leave the TLS flags out)`);
  }
  try {
    return readTlsFiles({ ca: flags['tls-ca'] || undefined, cert: flags['tls-cert'] || undefined, key: flags['tls-key'] || undefined }, FLAG_NAMES);
  } catch (error) {
    if (error instanceof TlsFileError) throw new ConfigError(error.message);
    throw error;
  }
}

const ADVICE = {
  ca: 'pass --tls-ca FILE (or BEACON_REGISTRY_CA) with the CA that signed it',
  client_certificate: 'pass --tls-cert FILE --tls-key FILE (or BEACON_REGISTRY_CERT, BEACON_REGISTRY_KEY) with a certificate signed by a CA the registry trusts',
  registry_name: 'give --registry the host name or address its certificate names',
  https_url: 'use an https:// --registry',
  http_url: 'use an http:// --registry, or the port the registry serves https on',
  registry_certificate: "the registry's certificate must be renewed (or this machine's clock is wrong)",
} as const;

/** A `tls` failure's message with what to do about it in flags: `...not trusted (UNABLE_TO_VERIFY_LEAF_SIGNATURE): pass --tls-ca FILE ...`. */
export function withTlsAdvice(error: RegistryClientError): string {
  return error.code === 'tls' && error.remedy ? `${error.message}: ${ADVICE[error.remedy]}` : error.message;
}
