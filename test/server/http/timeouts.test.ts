import assert from 'node:assert/strict';
import { once } from 'node:events';
import { connect } from 'node:net';
import { test } from 'node:test';
import { buildApp } from '../../../server/http/app.js';
import { Metrics } from '../../../server/metrics/metrics.js';
import { nextEvent } from '../../support/events.js';
import { registryWithClock } from '../../support/registry.js';

/**
 * Sends `partial`, then nothing, and answers what the server wrote before it closed the
 * connection and how long it let the connection live. The 10 s bound only ends a server that
 * never cuts.
 */
async function trickle(port: number, partial: string): Promise<{ answer: string; ms: number }> {
  const socket = connect({ port, host: '127.0.0.1' });
  await once(socket, 'connect');
  const started = Date.now();
  socket.write(partial);
  let answer = '';
  socket.on('data', (chunk) => (answer += chunk));
  await nextEvent(socket, 'close', 10_000);
  return { answer, ms: Date.now() - started };
}

test('a client that never finishes its headers, or its body, is cut with 408 after the timeout', async (t) => {
  const { registry } = registryWithClock();
  const app = await buildApp({ registry, metrics: new Metrics(), timeouts: { headersMs: 300, requestMs: 800 }, logLevel: false });
  t.after(() => app.close());
  await app.listen({ host: '127.0.0.1', port: 0 });
  const { port } = app.server.address() as { port: number };

  const headers = await trickle(port, 'GET /healthz HTTP/1.1\r\nHost: beacon\r\n');
  const body = await trickle(port, 'PUT /v1/services/web/instances/w1 HTTP/1.1\r\nHost: beacon\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{"address"');

  // Time is the subject: a silent client is cut only once its timeout ran out, and the complete
  // headers of the second put it under the longer request timeout. Load can only lengthen these,
  // so the lower bounds are all that is asserted.
  assert.match(headers.answer, /^HTTP\/1\.1 408 /);
  assert.ok(headers.ms >= 250, `headers cut after ${headers.ms} ms, before headersMs (300)`);
  assert.match(body.answer, /^HTTP\/1\.1 408 /);
  assert.ok(body.ms >= 700, `body cut after ${body.ms} ms, before requestMs (800)`);
  assert.equal(registry.listInstances('web').length, 0);
});
