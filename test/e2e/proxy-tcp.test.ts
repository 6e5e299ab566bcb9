import assert from 'node:assert/strict';
import { once } from 'node:events';
import { type AddressInfo, connect, createServer, type Server, type Socket } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { client } from '../support/http.js';
import { scrape } from '../support/metrics.js';
import { startProxyProcess } from '../support/proxy-process.js';
import { type ServerProcess, startServerProcess } from '../support/server-process.js';

interface EchoBackend {
  name: string;
  port: number;
  connections: number;
  close(): Promise<void>;
}

/** A TCP service that answers each line with `<name>:<line>`. */
async function startEcho(name: string): Promise<EchoBackend> {
  const sockets = new Set<Socket>();
  const server: Server = createServer((socket) => {
    echo.connections += 1;
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('data', (data) => socket.write(`${name}:${data}`));
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const echo: EchoBackend = {
    name,
    port: (server.address() as AddressInfo).port,
    connections: 0,
    async close() {
      const closed = once(server, 'close');
      server.close();
      for (const socket of sockets) socket.destroy();
      await closed;
    },
  };
  return echo;
}

/** Opens a connection through the proxy, sends one line and answers what came back (or the error). */
async function exchange(port: number, line: string): Promise<string> {
  const socket = connect({ port, host: '127.0.0.1' });
  socket.setTimeout(5000, () => socket.destroy(new Error('timed out')));
  try {
    await once(socket, 'connect');
    socket.write(line);
    const [data] = (await once(socket, 'data')) as [Buffer];
    return data.toString();
  } catch (error) {
    return `error: ${(error as Error).message}`;
  } finally {
    socket.destroy();
  }
}

describe('beacon proxy --mode tcp', () => {
  let registry: ServerProcess;
  let backends: EchoBackend[];

  before(async () => {
    registry = await startServerProcess(['--db', ':memory:']);
    backends = [await startEcho('e0'), await startEcho('e1')];
    for (const backend of backends) {
      await client(registry.url).register('echo', backend.name, { address: '127.0.0.1', port: backend.port, ttl: 300 });
    }
  });
  after(async () => {
    await Promise.all(backends.map((backend) => backend.close()));
    await registry.stop();
  });

  it('joins each connection to an instance, balanced over both, and fails over when one stops listening', async (t) => {
    const proxy = await startProxyProcess(['--service', 'echo', '--registry', registry.url, '--mode', 'tcp']);
    t.after(() => proxy.stop());

    const before = await Promise.all(Array.from({ length: 10 }, (_, i) => exchange(proxy.ready.port, `hello ${i}`)));
    await backends[0]!.close();
    const afterKill = await Promise.all(Array.from({ length: 10 }, (_, i) => exchange(proxy.ready.port, `again ${i}`)));
    const attempts = await scrape(proxy.ready.adminUrl, 'beacon_proxy_upstream_attempts_total');

    assert.deepEqual(new Set(before.map((answer) => answer.split(':')[0])), new Set(['e0', 'e1']));
    assert.ok(before.every((answer, i) => answer.endsWith(`hello ${i}`)));
    assert.deepEqual(afterKill, Array.from({ length: 10 }, (_, i) => `e1:again ${i}`));
    assert.ok((attempts.get('{instance="e0",outcome="failure"}') ?? 0) >= 1, 'the refused connection counted as a failure');
  });
});
