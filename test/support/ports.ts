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

/** `count` consecutive TCP ports on loopback, free a moment ago (for commands that take a base port). */
export async function freePortRun(count: number): Promise<number> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const base = await freePort();
    if (base + count - 1 > 65535) continue;
    const rest = await Promise.all(Array.from({ length: count - 1 }, (_, i) => isFree(base + i + 1)));
    if (rest.every(Boolean)) return base;
  }
  throw new Error(`no run of ${count} free ports found on 127.0.0.1`);
}

/** Whether a TCP listener could take the port on loopback right now. */
export async function isFree(port: number): Promise<boolean> {
  const probe = createServer();
  const free = await new Promise<boolean>((resolve) => {
    probe.once('error', () => resolve(false));
    probe.listen(port, '127.0.0.1', () => resolve(true));
  });
  if (free) await new Promise((resolve) => probe.close(resolve));
  return free;
}
