import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type CertificateFiles, createThrowawayCa } from '../tls/openssl-ca.js';

/** `npm run demo -- --tls`: a CA made for this run, and the registry's certificate from it. */
export interface DemoTls {
  /** The temp folder holding them (run-demo.ts removes it when the demo ends). */
  dir: string;
  /** The CA's certificate: what every demo process, and curl --cacert, trusts. */
  caCert: string;
  /** For 127.0.0.1 and localhost, the names the demo's URLs use. */
  registry: CertificateFiles;
}

/** Nothing secret lasts beyond the run: the keys live in a temp folder the demo removes when it ends. */
export async function makeDemoTls(): Promise<DemoTls> {
  const dir = await mkdtemp(join(tmpdir(), 'beacon-demo-tls-'));
  try {
    const ca = await createThrowawayCa(join(dir, 'ca'), 'Beacon demo CA');
    const registry = await ca.issue('registry', { altNames: ['DNS:localhost', 'IP:127.0.0.1'], usage: 'server' });
    return { dir, caCert: ca.caCert, registry };
  } catch (error) {
    await rm(dir, { recursive: true, force: true });
    throw error;
  }
}
