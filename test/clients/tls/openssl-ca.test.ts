import assert from 'node:assert/strict';
import { once } from 'node:events';
import { readFile } from 'node:fs/promises';
import { createServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { connect } from 'node:tls';
import { describe, it } from 'node:test';
import { createThrowawayCa } from '../../../clients/tls/openssl-ca.js';
import { tempDir } from '../../support/temp.js';

/** Connects with `ca` as the only trust anchor: the peer's subject, or the handshake's error code. */
async function handshake(port: number, ca: Buffer, servername: string): Promise<string> {
  const socket = connect({ port, host: '127.0.0.1', ca, servername });
  try {
    await once(socket, 'secureConnect');
    return String(socket.getPeerCertificate().subject.CN);
  } catch (error) {
    return (error as NodeJS.ErrnoException).code ?? 'error';
  } finally {
    socket.destroy();
  }
}

describe('createThrowawayCa', () => {
  it('issues server certificates its CA verifies, for the names given, and another CA does not', async (t) => {
    const dir = tempDir(t, 'beacon-ca-');
    const ca = await createThrowawayCa(`${dir}/ca`);
    const other = await createThrowawayCa(`${dir}/other`, 'Another CA');
    const issued = await ca.issue('registry', { altNames: ['DNS:localhost', 'IP:127.0.0.1'], usage: 'server' });
    const server = createServer({ cert: await readFile(issued.cert), key: await readFile(issued.key) }, (_request, response) => response.end());
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const { port } = server.address() as AddressInfo;
    try {
      assert.equal(await handshake(port, await readFile(ca.caCert), 'localhost'), 'registry');
      assert.equal(await handshake(port, await readFile(ca.caCert), 'elsewhere.example'), 'ERR_TLS_CERT_ALTNAME_INVALID');
      assert.equal(await handshake(port, await readFile(other.caCert), 'localhost'), 'UNABLE_TO_VERIFY_LEAF_SIGNATURE');
    } finally {
      server.close();
    }
  });
});
