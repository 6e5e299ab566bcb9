import assert from 'node:assert/strict';
import { once } from 'node:events';
import { type AddressInfo, connect, createServer, type Server, type Socket } from 'node:net';
import { afterEach, describe, it } from 'node:test';
import { createPolicy } from '../../../clients/balancing/policy.js';
import { BEACON_DEFAULTS } from '../../../clients/policy/beacon-defaults.js';
import type { EffectivePolicy } from '../../../clients/policy/effective-policy.js';
import { ProxyMetrics } from '../../../clients/proxy/proxy-metrics.js';
import { TcpForwarder } from '../../../clients/proxy/tcp-forwarder.js';
import { type Upstream, UpstreamPool } from '../../../clients/upstream/upstream-pool.js';
import { within } from '../../support/events.js';
import { metricValue } from '../../support/forwarder-harness.js';

const cleanups: (() => Promise<unknown> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** A TCP echo service. */
async function echoServer(): Promise<{ port: number; connections: () => number }> {
  const sockets = new Set<Socket>();
  let count = 0;
  const server: Server = createServer((socket) => {
    count += 1;
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('data', (data) => socket.write(data));
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  cleanups.push(() => {
    for (const socket of sockets) socket.destroy();
    server.close();
  });
  return { port: (server.address() as AddressInfo).port, connections: () => count };
}

async function tcpProxy(port: number, options: { idleTimeoutMs?: number; maxConnections?: number }) {
  const pool = new UpstreamPool({ policy: createPolicy<Upstream>('weighted-round-robin') });
  pool.update([{ id: 'echo', address: '127.0.0.1', port, weight: 1 }]);
  const metrics = new ProxyMetrics({ pool, registryReachable: () => true });
  const policy: EffectivePolicy = {
    ...BEACON_DEFAULTS,
    retries: { ...BEACON_DEFAULTS.retries, count: 0 },
    tryTimeoutMs: 2000,
    timeoutMs: 2000,
    limits: { ...BEACON_DEFAULTS.limits, ...(options.maxConnections !== undefined ? { maxConnections: options.maxConnections } : {}) },
  };
  const forwarder = new TcpForwarder({ pool, metrics, policy: () => policy, ...(options.idleTimeoutMs ? { idleTimeoutMs: options.idleTimeoutMs } : {}) });
  const server = createServer({ allowHalfOpen: true }, forwarder.handle);
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  cleanups.push(() => {
    forwarder.close();
    server.close();
  });
  return { port: (server.address() as AddressInfo).port, metrics };
}

async function open(port: number): Promise<Socket> {
  const socket = connect({ port, host: '127.0.0.1' });
  cleanups.push(() => void socket.destroy());
  await once(socket, 'connect');
  return socket;
}

async function roundTrip(socket: Socket, text: string): Promise<string> {
  socket.write(text);
  const [data] = (await once(socket, 'data')) as [Buffer];
  return data.toString();
}

describe('TcpForwarder', () => {
  it('closes a joined connection idle for the idle timeout, not one that talks', async () => {
    const echo = await echoServer();
    const proxy = await tcpProxy(echo.port, { idleTimeoutMs: 300 });
    const idle = await open(proxy.port);
    assert.equal(await roundTrip(idle, 'ping'), 'ping');

    await within(once(idle, 'close'), 5000, 'the idle connection closed');

    assert.equal(idle.destroyed, true);
  });

  it('refuses a connection past the instance’s connection cap, counting an overflow', async () => {
    const echo = await echoServer();
    const proxy = await tcpProxy(echo.port, { maxConnections: 1 });
    const first = await open(proxy.port);
    assert.equal(await roundTrip(first, 'one'), 'one');

    const second = await open(proxy.port);
    await within(once(second, 'close'), 5000, 'the connection over the cap closed');

    assert.equal(echo.connections(), 1);
    assert.equal(await metricValue(proxy.metrics, 'beacon_proxy_overflow_total'), 1);
    assert.equal(await roundTrip(first, 'still'), 'still');
  });
});
