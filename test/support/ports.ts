import { once } from 'node:events';
import { createServer } from 'node:net';

/**
 * A TCP port on loopback that was free a moment ago: for a server that must come back on the
 * same port after a restart (port 0 would give it a new one). Another process could take it in
 * between; on a test machine that is rare enough.
 */
export async function freePort(): Promise<number> {
  const probe = createServer();
  probe.listen(0, '127.0.0.1');
  await once(probe, 'listening');
  const { port } = probe.address() as { port: number };
  await new Promise((resolve) => probe.close(resolve));
  return port;
}
