import { readFileSync } from 'node:fs';
import { createSecureContext } from 'node:tls';

/** Where a TLS party's files are: the CA it trusts, and its own certificate and key (PEM paths). */
export interface TlsPaths {
  ca?: string | undefined;
  cert?: string | undefined;
  key?: string | undefined;
}

/** The files' contents, as node:tls and undici's `connect` options take them. */
export interface TlsMaterial {
  ca?: Buffer;
  cert?: Buffer;
  key?: Buffer;
}

/** The flags that named each file, so an error says which one to fix. */
export interface TlsFlagNames {
  ca: string;
  cert: string;
  key: string;
}

/** A TLS file that cannot be used, with the flag that named it: one line for the operator. */
export class TlsFileError extends Error {
  override readonly name = 'TlsFileError';
}

/**
 * Reads the files and checks they make a usable TLS context (PEM that parses, a key that
 * matches its certificate), so a bad file fails here with the flag's name rather than at the
 * first handshake. A certificate needs its key and the other way round.
 */
export function readTlsFiles(paths: TlsPaths, flags: TlsFlagNames): TlsMaterial {
  if (Boolean(paths.cert) !== Boolean(paths.key)) {
    throw new TlsFileError(paths.cert ? `${flags.cert} needs ${flags.key} (the certificate's private key)` : `${flags.key} needs ${flags.cert} (the certificate it belongs to)`);
  }
  const material: TlsMaterial = {};
  if (paths.ca) material.ca = readPem(paths.ca, flags.ca);
  if (paths.cert) material.cert = readPem(paths.cert, flags.cert);
  if (paths.key) material.key = readPem(paths.key, flags.key);
  try {
    createSecureContext(material);
  } catch (error) {
    const which = material.key ? `${flags.cert} and ${flags.key}` : flags.ca;
    throw new TlsFileError(`${which}: not a usable certificate/key (${(error as Error).message})`);
  }
  return material;
}

function readPem(path: string, flag: string): Buffer {
  let content: Buffer;
  try {
    content = readFileSync(path);
  } catch (error) {
    throw new TlsFileError(`${flag} ${path}: cannot read it (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`);
  }
  if (!content.includes('-----BEGIN ')) throw new TlsFileError(`${flag} ${path}: not a PEM file (no -----BEGIN line)`);
  return content;
}
