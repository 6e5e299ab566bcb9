import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { type Backend, startBackend } from '../support/backends.js';
import { waitFor, within } from '../support/events.js';
import { client } from '../support/http.js';
import { startProxyProcess } from '../support/proxy-process.js';
import { type ServerProcess, startServerProcess } from '../support/server-process.js';
import { startWebSocketEcho, type WebSocketEcho, webSocketRoundTrip } from '../support/websocket.js';

describe('beacon proxy for operators: request ids, access log, WebSocket (real process)', () => {
  let registry: ServerProcess;
  let backend: Backend;
  let echo: WebSocketEcho;

  before(async () => {
    registry = await startServerProcess(['--db', ':memory:']);
    backend = await startBackend('b0');
    echo = await startWebSocketEcho();
    const api = client(registry.url);
    assert.equal((await api.register('web', 'b0', { address: '127.0.0.1', port: backend.port, ttl: 300 })).status, 201);
    assert.equal((await api.register('chat', 'ws0', { address: '127.0.0.1', port: echo.port, ttl: 300 })).status, 201);
  });
  after(async () => {
    await backend?.kill();
    await echo?.close();
    await registry?.stop();
  });

  it('--access-log writes one JSON line per request with the request id the client sent, which comes back', async (t) => {
    const proxy = await startProxyProcess(['--service', 'web', '--registry', registry.url, '--access-log']);
    t.after(() => proxy.stop());

    const response = await fetch(`${proxy.ready.url}/orders?id=7`, { headers: { 'x-request-id': 'e2e-77' } });
    await response.text();
    const line = await waitFor(
      () => proxy.output().split('\n').find((candidate) => candidate.includes('"requestId":"e2e-77"')),
      { what: () => `the access log line in:\n${proxy.output()}` },
    );
    const entry = JSON.parse(line) as Record<string, unknown>;

    assert.equal(response.headers.get('x-request-id'), 'e2e-77');
    assert.deepEqual(
      { log: entry.log, method: entry.method, path: entry.path, status: entry.status, instance: entry.instance, tries: entry.tries },
      { log: 'access', method: 'GET', path: '/orders?id=7', status: 200, instance: 'b0', tries: 1 },
    );
  });

  it('without --access-log there is no access line', async (t) => {
    const proxy = await startProxyProcess(['--service', 'web', '--registry', registry.url]);
    t.after(() => proxy.stop());

    const response = await fetch(`${proxy.ready.url}/`, { headers: { 'x-request-id': 'e2e-quiet' } });
    await response.text();

    assert.equal(response.headers.get('x-request-id'), 'e2e-quiet');
    assert.equal(proxy.output().includes('e2e-quiet'), false);
  });

  it('carries a WebSocket through to the service’s instance', async (t) => {
    const proxy = await startProxyProcess(['--service', 'chat', '--registry', registry.url]);
    t.after(() => within(proxy.stop(), 10_000, `the proxy stopping:\n${proxy.output()}`));

    const { status, accepted, reply } = await within(webSocketRoundTrip(proxy.ready.port, 'through the proxy'), 10_000, 'the round trip');

    assert.equal(status, 'HTTP/1.1 101 Switching Protocols');
    assert.equal(accepted, true);
    assert.equal(reply, 'echo: through the proxy');
  });
});
