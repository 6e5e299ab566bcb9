import { BEACON_DEFAULTS } from '../../../clients/policy/beacon-defaults.js';
import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';
import { createPolicy } from '../../../clients/balancing/policy.js';
import { HttpForwarder } from '../../../clients/proxy/http-forwarder.js';
import { ProxyMetrics } from '../../../clients/proxy/proxy-metrics.js';
import { type Upstream, UpstreamPool } from '../../../clients/upstream/upstream-pool.js';
import { once } from 'node:events';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { startWebSocketEcho, webSocketRoundTrip } from '../../support/websocket.js';

const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  await Promise.all(cleanups.splice(0).map((cleanup) => cleanup()));
});

async function proxyTo(ports: number[]): Promise<number> {
  const pool = new UpstreamPool({ policy: createPolicy<Upstream>('weighted-round-robin') });
  pool.update(ports.map((port, i) => ({ id: `ws-${i}`, address: '127.0.0.1', port, weight: 1 })));
  const forwarder = new HttpForwarder({ service: 'chat', pool, metrics: new ProxyMetrics({ pool, registryReachable: () => true }), policy: () => ({ ...BEACON_DEFAULTS, retries: { ...BEACON_DEFAULTS.retries, count: 1 }, tryTimeoutMs: 2000, timeoutMs: 5000 }) });
  const server = createServer(forwarder.handle);
  server.on('upgrade', forwarder.handleUpgrade);
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  cleanups.push(async () => {
    server.closeAllConnections();
    server.close();
    await forwarder.close();
  });
  return (server.address() as AddressInfo).port;
}

describe('HttpForwarder upgrades', () => {
  it('carries a WebSocket through: handshake, a frame each way, with forwarded headers and a request id', async () => {
    const echo = await startWebSocketEcho();
    cleanups.push(() => echo.close());
    const port = await proxyTo([echo.port]);

    const { status, accepted, reply } = await webSocketRoundTrip(port, 'hello');

    assert.equal(status, 'HTTP/1.1 101 Switching Protocols');
    assert.equal(accepted, true);
    assert.equal(reply, 'echo: hello');
    assert.equal(echo.requests[0]!.headers['x-forwarded-for'], '127.0.0.1');
    assert.match(String(echo.requests[0]!.headers['x-request-id']), /^[0-9a-f-]{36}$/);
  });

  it('an instance that refuses the connection is skipped for the next one', async () => {
    const echo = await startWebSocketEcho();
    cleanups.push(() => echo.close());
    const closed = createServer();
    closed.listen(0, '127.0.0.1');
    await once(closed, 'listening');
    const closedPort = (closed.address() as AddressInfo).port;
    closed.close();
    const port = await proxyTo([closedPort, echo.port]);

    const { reply } = await webSocketRoundTrip(port, 'again');

    assert.equal(reply, 'echo: again');
  });
});
