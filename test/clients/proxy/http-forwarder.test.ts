import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer, type IncomingMessage, request as httpRequest, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, it } from 'node:test';
import { createPolicy } from '../../../clients/balancing/policy.js';
import { BEACON_DEFAULTS } from '../../../clients/policy/beacon-defaults.js';
import { HttpForwarder } from '../../../clients/proxy/http-forwarder.js';
import { ProxyMetrics } from '../../../clients/proxy/proxy-metrics.js';
import { type Upstream, UpstreamPool } from '../../../clients/upstream/upstream-pool.js';
import { type Backend, type BackendHandler, startBackend } from '../../support/backends.js';
import { waitFor } from '../../support/events.js';
import { freePort } from '../../support/ports.js';

interface Harness {
  url: string;
  pool: UpstreamPool;
  metrics: ProxyMetrics;
  backends: Backend[];
}

const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  await Promise.all(cleanups.splice(0).map((cleanup) => cleanup()));
});

/**
 * A forwarder in front of real backends, behind a real node:http server. The pool is fed
 * directly (no registry): weighted round-robin over `backends` in order, so tests know which
 * instance a try goes to.
 */
async function forwarderOver(upstreams: { id: string; port: number }[], options: { retries?: number; tryTimeoutMs?: number } = {}): Promise<Omit<Harness, 'backends'>> {
  const pool = new UpstreamPool({ policy: createPolicy<Upstream>('weighted-round-robin') });
  pool.update(upstreams.map(({ id, port }) => ({ id, address: '127.0.0.1', port, weight: 1 })));
  const metrics = new ProxyMetrics({ pool, registryReachable: () => true });
  const policy = { ...BEACON_DEFAULTS, retries: { ...BEACON_DEFAULTS.retries, count: options.retries ?? 2 }, tryTimeoutMs: options.tryTimeoutMs ?? 2000, timeoutMs: 10_000 };
  const forwarder = new HttpForwarder({
    service: 'web',
    pool,
    metrics,
    policy: () => policy,
  });
  const server: Server = createServer(forwarder.handle);
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  cleanups.push(async () => {
    server.closeAllConnections();
    server.close();
    await forwarder.close();
  });
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, pool, metrics };
}

/** `beacon_proxy_upstream_attempts_total` by `instance outcome`. */
async function attempts(metrics: ProxyMetrics): Promise<Record<string, number>> {
  const text = await metrics.registry.metrics();
  const counts: Record<string, number> = {};
  for (const [, instance, outcome, value] of text.matchAll(/^beacon_proxy_upstream_attempts_total\{instance="([^"]+)",outcome="([^"]+)"\} (\d+)$/gm)) {
    counts[`${instance} ${outcome}`] = Number(value);
  }
  return counts;
}

async function harness(handlers: BackendHandler[], options?: { retries?: number; tryTimeoutMs?: number }): Promise<Harness> {
  const backends = await Promise.all(handlers.map((handler, i) => startBackend(`b${i}`, handler)));
  cleanups.push(() => Promise.all(backends.map((backend) => backend.kill())));
  const forwarder = await forwarderOver(backends.map((backend) => ({ id: backend.name, port: backend.port })), options);
  return { ...forwarder, backends };
}

async function text(response: IncomingMessage): Promise<string> {
  let body = '';
  for await (const chunk of response) body += chunk;
  return body;
}

const ok: BackendHandler = (request, response, backend) => {
  let body = '';
  request.on('data', (chunk) => (body += chunk));
  request.on('end', () => {
    response.writeHead(200, { 'content-type': 'application/json', connection: 'keep-alive, x-hop', 'x-hop': 'drop me' });
    response.end(JSON.stringify({ backend: backend.name, method: request.method, body, headers: request.headers }));
  });
};
const failing: BackendHandler = (request, response) => {
  request.resume();
  request.on('end', () => {
    response.writeHead(503);
    response.end('overloaded');
  });
};

describe('HttpForwarder', () => {
  it('forwards method, path and body, adds X-Forwarded-*, Via, and strips hop-by-hop headers both ways', async () => {
    const { url } = await harness([ok]);

    // node:http, as fetch refuses to send a Connection header.
    const response = await new Promise<IncomingMessage>((resolve, reject) => {
      const sent = httpRequest(`${url}/orders?id=7`, {
        method: 'POST',
        headers: { 'x-forwarded-for': '203.0.113.9', connection: 'keep-alive, x-secret', 'x-secret': 'hop only', 'x-kept': 'yes' },
      });
      sent.on('response', resolve).on('error', reject);
      sent.end('payload');
    });
    const body = JSON.parse(await text(response)) as { method: string; body: string; headers: Record<string, string> };

    assert.equal(response.statusCode, 200);
    assert.equal(body.method, 'POST');
    assert.equal(body.body, 'payload');
    assert.equal(body.headers['x-forwarded-for'], '203.0.113.9, 127.0.0.1');
    assert.equal(body.headers['x-forwarded-proto'], 'http');
    assert.equal(body.headers.via, '1.1 beacon');
    assert.equal(body.headers['x-kept'], 'yes');
    assert.equal(body.headers['x-secret'], undefined);
    assert.equal(response.headers.via, '1.1 beacon');
    assert.equal(response.headers['x-hop'], undefined);
  });

  it("passes the instance's header fields as sent: repeated ones apart, bytes unchanged, a 103 Early Hints ahead of the answer", async () => {
    const { url } = await harness([
      (request, response) => {
        request.resume();
        // An interim 103 first: the client gets it too, then the final answer.
        response.writeEarlyHints({ link: '</style.css>; rel=preload', 'x-hint': 'early' });
        // Node sends header values as latin1: byte 0xE9 on the wire.
        response.setHeader('x-name', 'caf\u00e9');
        response.setHeader('set-cookie', ['a=1', 'b=2']);
        response.setHeader('via', '1.1 edge');
        response.setHeader('x-request-id', 'from-the-instance');
        response.setHeader('connection', 'keep-alive, x-hop');
        response.setHeader('x-hop', 'drop me');
        // A Buffer body: with a string one Node would send the head in the body's encoding.
        response.end(Buffer.from('done'));
      },
    ]);

    const interim: { statusCode: number; link: unknown; hint: unknown }[] = [];
    const response = await new Promise<IncomingMessage>((resolve, reject) => {
      const sent = httpRequest(`${url}/`, { headers: { 'x-request-id': 'client-chosen-id' } });
      sent.on('information', (info) => interim.push({ statusCode: info.statusCode, link: info.headers.link, hint: info.headers['x-hint'] }));
      sent.on('response', resolve).on('error', reject);
      sent.end();
    });

    assert.deepEqual(interim, [{ statusCode: 103, link: '</style.css>; rel=preload', hint: 'early' }]);
    assert.equal(response.statusCode, 200);
    assert.equal(await text(response), 'done');
    assert.deepEqual(response.headers['set-cookie'], ['a=1', 'b=2']);
    assert.equal(Buffer.from(response.headers['x-name'] as string, 'latin1').toString('hex'), Buffer.from('caf\u00e9', 'latin1').toString('hex'));
    assert.equal(response.headers.via, '1.1 edge, 1.1 beacon');
    assert.equal(response.headers['x-request-id'], 'client-chosen-id');
    assert.equal(response.headers['x-hop'], undefined);
  });

  it('a GET answered 5xx is retried on another instance', async () => {
    const { url, backends } = await harness([failing, ok]);

    const response = await fetch(`${url}/`);

    assert.equal(response.status, 200);
    assert.equal(((await response.json()) as { backend: string }).backend, 'b1');
    assert.equal(backends[0]!.hits, 1);
  });

  it('a POST answered 5xx is not retried: the instance may have acted on it', async () => {
    const { url, backends } = await harness([failing, ok]);

    const response = await fetch(`${url}/`, { method: 'POST', body: 'charge the card' });

    assert.equal(response.status, 503);
    assert.equal(await response.text(), 'overloaded');
    assert.equal(backends[1]!.hits, 0);
  });

  it('a POST whose connection was refused goes to another instance, body intact', async () => {
    const closedPort = await freePort();
    const live = await startBackend('live', ok);
    cleanups.push(() => live.kill());
    const { url } = await forwarderOver([
      { id: 'gone', port: closedPort },
      { id: 'live', port: live.port },
    ]);

    const response = await fetch(`${url}/`, { method: 'POST', body: 'charge the card' });
    const body = (await response.json()) as { backend: string; body: string };

    assert.equal(response.status, 200);
    assert.deepEqual([body.backend, body.body], ['live', 'charge the card']);
  });

  it('when every try fails to connect: 503 JSON naming the service', async () => {
    const ports = [await freePort(), await freePort()];
    const { url } = await forwarderOver(ports.map((port, i) => ({ id: `gone-${i}`, port })));

    const response = await fetch(`${url}/`);
    const body = (await response.json()) as { statusCode: number; message: string };

    assert.equal(response.status, 503);
    assert.equal(body.statusCode, 503);
    assert.match(body.message, /could not connect to instance gone-\d of "web"/);
  });

  it('a try that exceeds the per-try timeout moves on; the last one answers 504', async () => {
    const silent: BackendHandler = () => {};
    const { url, backends } = await harness([silent, silent], { retries: 1, tryTimeoutMs: 200 });

    const response = await fetch(`${url}/`);
    const body = (await response.json()) as { message: string };

    // Both instances tried and the last try's own timeout named: the per-try timeout ended each
    // try (the 10 s overall timeout would have left b1 untried and said "answered within").
    assert.equal(response.status, 504);
    assert.match(body.message, /^instance b1 of "web" timed out/);
    assert.deepEqual(backends.map((backend) => backend.hits), [1, 1]);
  });

  it('an instance that breaks off its answer is a failure for its breaker; a client that leaves mid-answer is not', async () => {
    const breaking: BackendHandler = (_request, response) => {
      response.writeHead(200, { 'content-length': '1000' });
      response.write('x'.repeat(100), () => response.socket?.destroy());
    };
    // Sends a tenth of its answer, then nothing more until the test's cleanup kills it.
    const stalling: BackendHandler = (_request, response) => {
      response.writeHead(200, { 'content-length': '1000' });
      response.write('x'.repeat(100));
    };
    const { url, metrics } = await harness([breaking, stalling], { retries: 0 });

    const broken = await fetch(`${url}/`).then((response) => response.text()).then(() => 'complete', () => 'broken');
    const leaving = new AbortController();
    const left = await fetch(`${url}/`, { signal: leaving.signal });
    const reader = left.body!.getReader();
    await reader.read();
    leaving.abort();
    const counted = await waitFor(
      async () => {
        const counts = await attempts(metrics);
        return 'b0 failure' in counts && 'b1 abandoned' in counts && counts;
      },
      { what: 'both attempts counted' },
    );

    assert.equal(broken, 'broken', 'the client sees a cut answer, not a short one');
    assert.deepEqual(counted, { 'b0 failure': 1, 'b1 abandoned': 1 });
  });
});
