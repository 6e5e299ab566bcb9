import { createServer } from 'node:net';

/**
 * A loopback port free right now, for a server that cannot listen on port 0 and say which port
 * it got (haproxy). Another process could take it before the server does; the server's start
 * then fails loudly rather than measuring the wrong thing.
 */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as { port: number };
      probe.close(() => resolve(port));
    });
  });
}
