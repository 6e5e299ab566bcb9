import { BEACON_DEFAULTS } from '../../../clients/policy/beacon-defaults.js';
import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';
import { createPolicy } from '../../../clients/balancing/policy.js';
import { HttpForwarder } from '../../../clients/proxy/http-forwarder.js';
import { ProxyMetrics } from '../../../clients/proxy/proxy-metrics.js';
import { type Upstream, UpstreamPool } from '../../../clients/upstream/upstream-pool.js';
import { once } from 'node:events';
import { createServer } from 'node:http';
import { type AddressInfo, connect } from 'node:net';
import { Writable } from 'node:stream';
import pino, { type Logger } from 'pino';
import type { EffectivePolicy } from '../../../clients/policy/effective-policy.js';
import { waitFor } from '../../support/events.js';
import { startWebSocketEcho, webSocketRoundTrip } from '../../support/websocket.js';

const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  await Promise.all(cleanups.splice(0).map((cleanup) => cleanup()));
});

async function proxyTo(ports: number[], options: { limits?: EffectivePolicy['limits']; accessLog?: Logger } = {}): Promise<number> {
  const pool = new UpstreamPool({ policy: createPolicy<Upstream>('weighted-round-robin') });
  pool.update(ports.map((port, i) => ({ id: `ws-${i}`, address: '127.0.0.1', port, weight: 1 })));
  const policy: EffectivePolicy = { ...BEACON_DEFAULTS, retries: { ...BEACON_DEFAULTS.retries, count: 1 }, tryTimeoutMs: 2000, timeoutMs: 5000, limits: options.limits ?? BEACON_DEFAULTS.limits };
  const forwarder = new HttpForwarder({ service: 'chat', pool, metrics: new ProxyMetrics({ pool, registryReachable: () => true }), policy: () => policy, accessLog: options.accessLog });
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

    const { status, head, accepted, reply } = await webSocketRoundTrip(port, 'hello');

    assert.equal(status, 'HTTP/1.1 101 Switching Protocols');
    assert.equal(accepted, true);
    assert.equal(reply, 'echo: hello');
    assert.equal(echo.requests[0]!.headers['x-forwarded-for'], '127.0.0.1');
    const requestId = String(echo.requests[0]!.headers['x-request-id']);
    assert.match(requestId, /^[0-9a-f-]{36}$/);
    assert.match(head, new RegExp(`^x-request-id: ${requestId}$`, 'im'), 'the 101 carries the request id the instance got');
  });

  it("keeps the client's request id, and logs the upgrade once it closes", async () => {
    const echo = await startWebSocketEcho();
    cleanups.push(() => echo.close());
    const lines: Record<string, unknown>[] = [];
    const sink = new Writable({
      write(chunk, _encoding, callback) {
        lines.push(JSON.parse(String(chunk)) as Record<string, unknown>);
        callback();
      },
    });
    const port = await proxyTo([echo.port], { accessLog: pino(sink) });

    const { head } = await webSocketRoundTrip(port, 'logged', 'x-request-id: chat-42\r\n');
    assert.equal(lines.length, 0, 'an upgrade is logged when its connection closes');
    await echo.close();
    const [line] = await waitFor(() => lines.length === 1 && lines);

    assert.equal(echo.requests[0]!.headers['x-request-id'], 'chat-42');
    assert.match(head, /^x-request-id: chat-42$/im);
    assert.equal(head.match(/^x-request-id:/gim)!.length, 1);
    assert.deepEqual(
      { method: line!.method, path: line!.path, status: line!.status, instance: line!.instance, tries: line!.tries, requestId: line!.requestId },
      { method: 'GET', path: '/chat', status: 101, instance: 'ws-0', tries: 1, requestId: 'chat-42' },
    );
  });

  it('refuses an upgrade past the instance limits with 503 overflow', async () => {
    const echo = await startWebSocketEcho();
    cleanups.push(() => echo.close());
    const port = await proxyTo([echo.port], { limits: { maxConnections: 1, maxPendingRequests: 0 } });
    const first = connect({ port, host: '127.0.0.1' });
    cleanups.push(async () => void first.destroy());
    first.write('GET /chat HTTP/1.1\r\nhost: x\r\nupgrade: websocket\r\nconnection: Upgrade\r\nsec-websocket-key: dGhlIHNhbXBsZSBub25jZQ==\r\nsec-websocket-version: 13\r\n\r\n');
    await once(first, 'data');

    const second = await rawUpgrade(port);

    assert.match(second, /^HTTP\/1.1 503 /);
    assert.match(second, /^x-beacon-proxy: overflow$/im);
    assert.equal(echo.requests.length, 1);
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

/** Sends an upgrade request head and answers everything the proxy sends back until it closes. */
async function rawUpgrade(port: number): Promise<string> {
  const socket = connect({ port, host: '127.0.0.1' });
  socket.write('GET /chat HTTP/1.1\r\nhost: x\r\nupgrade: websocket\r\nconnection: Upgrade\r\nsec-websocket-key: dGhlIHNhbXBsZSBub25jZQ==\r\nsec-websocket-version: 13\r\n\r\n');
  let received = '';
  socket.on('data', (chunk: Buffer) => {
    received += chunk.toString();
  });
  await once(socket, 'close');
  return received;
}
