import { execFile } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** A certificate and its key, as PEM files. */
export interface CertificateFiles {
  cert: string;
  key: string;
}

export interface IssueOptions {
  /** Subject alternative names: `DNS:localhost`, `IP:127.0.0.1`… (a server checks these). */
  altNames?: readonly string[];
  /** What the certificate may be used for: a server, a client, or both (the default). */
  usage?: 'server' | 'client' | 'both';
  /** Days of validity. Default 30. */
  days?: number;
}

/** A throwaway certificate authority in a folder: its certificate, and a way to issue more. */
export interface ThrowawayCa {
  dir: string;
  /** The CA's certificate (PEM): what clients and servers are told to trust. */
  caCert: string;
  issue(name: string, options?: IssueOptions): Promise<CertificateFiles>;
}

const USAGE = {
  server: 'serverAuth',
  client: 'clientAuth',
  both: 'serverAuth,clientAuth',
} as const;

/**
 * Makes a certificate authority with openssl (Debian's `openssl` package) in `dir`, for the
 * demo and the tests: nothing secret is ever committed, every run makes its own. EC P-256 keys,
 * which openssl makes in milliseconds. Fails with the install command when openssl is missing.
 */
export async function createThrowawayCa(dir: string, name = 'Beacon throwaway CA'): Promise<ThrowawayCa> {
  await mkdir(dir, { recursive: true });
  const caKey = join(dir, 'ca.key');
  const caCert = join(dir, 'ca.crt');
  await openssl(['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', caKey, '-out', caCert, '-days', '30', '-subj', `/CN=${name}`, '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign']);
  let serial = 0;
  return {
    dir,
    caCert,
    async issue(leaf: string, options: IssueOptions = {}): Promise<CertificateFiles> {
      serial += 1;
      const base = join(dir, `${leaf}-${serial}`);
      const files = { cert: `${base}.crt`, key: `${base}.key` };
      const extensions = [
        'basicConstraints=CA:FALSE',
        'keyUsage=critical,digitalSignature,keyEncipherment',
        `extendedKeyUsage=${USAGE[options.usage ?? 'both']}`,
        ...(options.altNames?.length ? [`subjectAltName=${options.altNames.join(',')}`] : []),
      ];
      await writeFile(`${base}.ext`, `${extensions.join('\n')}\n`);
      await openssl(['req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', files.key, '-out', `${base}.csr`, '-subj', `/CN=${leaf}`]);
      const days = String(options.days ?? 30);
      await openssl(['x509', '-req', '-in', `${base}.csr`, '-CA', caCert, '-CAkey', caKey, '-set_serial', String(1000 + serial), '-out', files.cert, '-extfile', `${base}.ext`, '-days', days]);
      return files;
    },
  };
}

async function openssl(args: string[]): Promise<void> {
  try {
    await run('openssl', args);
  } catch (error) {
    const failure = error as NodeJS.ErrnoException & { stderr?: string };
    if (failure.code === 'ENOENT') throw new Error('openssl is not installed; install it (apt-get install -y openssl)');
    throw new Error(`openssl ${args[0]} failed: ${failure.stderr?.trim() || failure.message}`);
  }
}
