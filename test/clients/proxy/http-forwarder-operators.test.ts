import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Writable } from 'node:stream';
import pino from 'pino';
import type { BackendHandler } from '../../support/backends.js';
import { waitFor } from '../../support/events.js';
import { harnessPerTest } from '../../support/forwarder-harness.js';

const harness = harnessPerTest();

/** Answers with the request id it received. */
const echoingId: BackendHandler = (request, response) => {
  response.writeHead(200, { 'content-type': 'text/plain', 'x-request-id': 'set-by-instance' });
  response.end(String(request.headers['x-request-id']));
};

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

describe('HttpForwarder request ids and access log', () => {
  it('keeps the client’s x-request-id, forwards it and returns it', async () => {
    const { url } = await harness([echoingId]);

    const response = await fetch(`${url}/`, { headers: { 'x-request-id': 'req-42/a' } });

    assert.equal(await response.text(), 'req-42/a');
    assert.equal(response.headers.get('x-request-id'), 'req-42/a');
  });

  it('generates one when the client sent none, or one that is not printable or too long', async () => {
    const { url } = await harness([echoingId]);

    const answers = await Promise.all(
      ([{}, { 'x-request-id': 'has space' }, { 'x-request-id': 'x'.repeat(201) }] as Record<string, string>[]).map(async (headers) => {
        const response = await fetch(`${url}/`, { headers });
        return { forwarded: await response.text(), returned: response.headers.get('x-request-id') };
      }),
    );

    for (const { forwarded, returned } of answers) {
      assert.match(forwarded, UUID);
      assert.equal(returned, forwarded);
    }
    assert.equal(new Set(answers.map((answer) => answer.forwarded)).size, 3);
  });

  it('the proxy’s own errors carry the request id too', async () => {
    const { url, pool } = await harness([echoingId]);
    pool.update([]);

    const response = await fetch(`${url}/`, { headers: { 'x-request-id': 'lost-1' } });

    assert.equal(response.status, 503);
    assert.equal(response.headers.get('x-beacon-proxy'), 'no-instance');
    assert.equal(response.headers.get('x-request-id'), 'lost-1');
  });

  it('writes one access log line per request: method, path, status, instance, tries, duration, request id', async () => {
    const lines: Record<string, unknown>[] = [];
    const sink = new Writable({
      write(chunk, _encoding, callback) {
        lines.push(JSON.parse(String(chunk)) as Record<string, unknown>);
        callback();
      },
    });
    const failing: BackendHandler = (_request, response) => {
      response.writeHead(503);
      response.end();
    };
    const { url } = await harness([failing, echoingId], { accessLog: pino(sink) });

    const response = await fetch(`${url}/orders?id=7`, { headers: { 'x-request-id': 'log-me' } });
    await response.text();
    const [line] = await waitFor(() => lines.length === 1 && lines);

    assert.equal(response.status, 200);
    assert.deepEqual(
      { method: line!.method, path: line!.path, status: line!.status, instance: line!.instance, tries: line!.tries, requestId: line!.requestId },
      { method: 'GET', path: '/orders?id=7', status: 200, instance: 'b1', tries: 2, requestId: 'log-me' },
    );
    assert.equal(typeof line!.durationMs, 'number');
  });
});
