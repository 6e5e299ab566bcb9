import assert from 'node:assert/strict';
import { once } from 'node:events';
import { Agent, request as httpRequest } from 'node:http';
import { connect, type Socket } from 'node:net';
import { test } from 'node:test';
import fc from 'fast-check';
import { Acl } from '../../../server/acl/acl.js';
import { ManualClock } from '../../../contract/clock.js';
import { buildApp, type AppOptions } from '../../../server/http/app.js';
import { HEARTBEAT_ROUTE, heartbeatAnswers, heartbeatPath } from '../../../server/http/heartbeat-fast-path.js';
import { responseSerializerCompiler } from '../../../server/http/validation.js';
import { Metrics } from '../../../server/metrics/metrics.js';
import { Instance, InstanceId, ServiceName } from '../../../contract/instance.js';
import { nextEvent, waitFor } from '../../support/events.js';
import { registration, registryWithClock } from '../../support/registry.js';

interface RawAnswer {
  status: number;
  /** Name/value pairs as sent, in order, without Date (it changes by the second). */
  headers: string[];
  body: Buffer;
}

/**
 * A Beacon HTTP app listening on loopback, its registry holding web/w1, and a counter of the
 * bare heartbeats the fast path took (only it asks `renewInMemory`).
 */
async function startBeacon(t: { after(fn: () => Promise<unknown>): void }, options: Partial<AppOptions> = {}) {
  const metrics = new Metrics();
  const { registry, clock } = registryWithClock(':memory:', { events: metrics.registryEvents });
  registry.register('web', 'w1', registration({ ttl: 60 }));
  const fastPath = { asked: 0 };
  const renewInMemory = registry.renewInMemory.bind(registry);
  registry.renewInMemory = (service, id) => {
    fastPath.asked += 1;
    return renewInMemory(service, id);
  };
  const app = await buildApp({ registry, metrics, logLevel: false, ...options });
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  t.after(async () => {
    agent.destroy();
    await app.close();
  });
  await app.listen({ host: '127.0.0.1', port: 0 });
  const { port } = app.server.address() as { port: number };
  const send = (method: string, path: string, headers: Record<string, string> = {}, body?: string) =>
    new Promise<RawAnswer>((resolve, reject) => {
      const outgoing = httpRequest({ host: '127.0.0.1', port, method, path, headers, agent }, (response) => {
        const chunks: Buffer[] = [];
        response.on('data', (chunk: Buffer) => chunks.push(chunk));
        response.on('end', () => {
          const pairs: string[] = [];
          for (let i = 0; i < response.rawHeaders.length; i += 2) {
            if (response.rawHeaders[i]!.toLowerCase() !== 'date') pairs.push(`${response.rawHeaders[i]}: ${response.rawHeaders[i + 1]}`);
          }
          resolve({ status: response.statusCode!, headers: pairs, body: Buffer.concat(chunks) });
        });
      });
      outgoing.on('error', reject);
      outgoing.end(body);
    });
  return { app, registry, clock, metrics, port, fastPath, send };
}

const HEARTBEAT = '/v1/services/web/instances/w1/heartbeat';

test('a bare heartbeat gets the same status, headers and bytes from the fast path as from the fastify route', async (t) => {
  const { send, fastPath } = await startBeacon(t);

  // A query string is not the fast path's (it hands the request to fastify), and the route ignores it.
  const throughFastify = await send('PUT', `${HEARTBEAT}?via=fastify`);
  const askedBefore = fastPath.asked;
  const fast = await send('PUT', HEARTBEAT);
  const fastWithZeroLength = await send('PUT', HEARTBEAT, { 'content-length': '0' });

  assert.equal(askedBefore, 0, 'the fastify request did not take the fast path');
  assert.equal(fastPath.asked, 2, 'both bare heartbeats took the fast path');
  assert.equal(throughFastify.status, 200);
  assert.deepEqual(fast, throughFastify);
  assert.deepEqual(fastWithZeroLength, throughFastify);
  assert.deepEqual(fast.headers, ['content-type: application/json; charset=utf-8', `content-length: ${fast.body.length}`, 'Connection: keep-alive', 'Keep-Alive: timeout=72']);
});

test('a bare heartbeat renews the TTL exactly as the route does', async (t) => {
  const { send, clock, registry } = await startBeacon(t);
  clock.advance(5_000);

  const answer = JSON.parse((await send('PUT', HEARTBEAT)).body.toString()) as { lastHeartbeatAt: string; expiresAt: string; status: string };

  assert.equal(answer.status, 'passing');
  assert.equal(Date.parse(answer.lastHeartbeatAt), clock.now());
  assert.equal(Date.parse(answer.expiresAt), clock.now() + 60_000);
  assert.deepEqual(registry.getInstance('web', 'w1'), JSON.parse(JSON.stringify(answer)));
});

test('bad names, unknown instances, bodies, content types and other methods are answered by fastify as before', async (t) => {
  const { send, app, fastPath } = await startBeacon(t);
  const cases: { method: string; url: string; headers?: Record<string, string>; body?: string; status: number }[] = [
    { method: 'PUT', url: '/v1/services/Web/instances/w1/heartbeat', status: 400 },
    { method: 'PUT', url: `/v1/services/web/instances/${'x'.repeat(129)}/heartbeat`, status: 400 },
    { method: 'PUT', url: '/v1/services/web/instances/w%2F1/heartbeat', status: 400 },
    { method: 'PUT', url: '/v1/services/web/instances/w%31/heartbeat', status: 200 },
    { method: 'PUT', url: '/v1/services/web/instances/nope/heartbeat', status: 404 },
    { method: 'PUT', url: '/v1/services/web/instances/w1/heartbeat/', status: 404 },
    { method: 'PUT', url: HEARTBEAT, headers: { 'content-type': 'text/plain' }, body: 'hi', status: 415 },
    { method: 'PUT', url: HEARTBEAT, headers: { 'content-type': 'application/json' }, body: '{"status":"bogus"}', status: 400 },
    { method: 'POST', url: HEARTBEAT, status: 404 },
    { method: 'GET', url: HEARTBEAT, status: 404 },
  ];

  for (const { method, url, headers, body, status } of cases) {
    const overSocket = await send(method, url, headers, body);
    const injected = await app.inject({ method: method as 'PUT', url, ...(headers ? { headers } : {}), ...(body ? { payload: body } : {}) });

    assert.equal(overSocket.status, status, `${method} ${url}`);
    assert.equal(overSocket.status, injected.statusCode, `${method} ${url}`);
    if (status !== 200) assert.deepEqual(JSON.parse(overSocket.body.toString()), injected.json(), `${method} ${url}`);
  }
  const notFound = await send('PUT', '/v1/services/web/instances/nope/heartbeat');
  assert.deepEqual(JSON.parse(notFound.body.toString()), { statusCode: 404, error: 'Not Found', message: 'instance web/nope is not registered' });
  // Only the unknown instance's URLs reached the registry question; each was then fastify's.
  assert.equal(fastPath.asked, 2);
});

test('a heartbeat with a status goes through the route, and the next bare one (a stored change) too', async (t) => {
  const { send, registry, fastPath } = await startBeacon(t);

  const warning = await send('PUT', HEARTBEAT, { 'content-type': 'application/json' }, '{"status":"warning","output":"disk 91%"}');
  const bare = await send('PUT', HEARTBEAT);
  const bareAgain = await send('PUT', HEARTBEAT);

  assert.equal(JSON.parse(warning.body.toString()).status, 'warning');
  assert.equal(JSON.parse(bare.body.toString()).status, 'passing');
  assert.equal(JSON.parse(bareAgain.body.toString()).status, 'passing');
  assert.equal(registry.getInstance('web', 'w1').status, 'passing');
  assert.equal(fastPath.asked, 2, 'the first bare heartbeat was refused by the fast path (warning is stored), the second taken');
});

test('an expired instance is revived by a bare heartbeat through the route (a stored change)', async (t) => {
  const { send, registry, clock } = await startBeacon(t);
  clock.advance(61_000);
  registry.sweep();
  assert.equal(registry.getInstance('web', 'w1').status, 'critical');

  const answer = await send('PUT', HEARTBEAT);

  assert.equal(answer.status, 200);
  assert.equal(JSON.parse(answer.body.toString()).status, 'passing');
});

test('with ACL on, a heartbeat without a token gets 401, with a read token 403, with a write token 200', async (t) => {
  const { store } = registryWithClock();
  const acl = await Acl.open(store, new ManualClock());
  const writer = await acl.create({ kind: 'service', services: ['web'], description: '' });
  const reader = await acl.create({ kind: 'read', description: '' });
  const { send, app, fastPath } = await startBeacon(t, { acl });

  const none = await send('PUT', HEARTBEAT);
  const read = await send('PUT', HEARTBEAT, { authorization: `Bearer ${reader.secret}` });
  const written = await send('PUT', HEARTBEAT, { authorization: `Bearer ${writer.secret}` });
  const writtenByHeader = await send('PUT', HEARTBEAT, { 'x-beacon-token': writer.secret });
  const injectedNone = await app.inject({ method: 'PUT', url: HEARTBEAT });
  const injectedRead = await app.inject({ method: 'PUT', url: HEARTBEAT, headers: { authorization: `Bearer ${reader.secret}` } });

  assert.equal(none.status, 401);
  assert.ok(none.headers.includes('www-authenticate: Bearer realm="beacon"'));
  assert.deepEqual(JSON.parse(none.body.toString()), injectedNone.json());
  assert.equal(read.status, 403);
  assert.deepEqual(JSON.parse(read.body.toString()), injectedRead.json());
  assert.equal(written.status, 200);
  assert.equal(writtenByHeader.status, 200);
  assert.equal(fastPath.asked, 2, 'only the allowed heartbeats reached the fast path');
});

test('with --write-rate-limit, heartbeats over a socket are limited as before (429)', async (t) => {
  const { send, fastPath } = await startBeacon(t, { writeRateLimit: 3 });

  const statuses = [];
  for (let i = 0; i < 4; i++) statuses.push((await send('PUT', HEARTBEAT)).status);

  assert.deepEqual(statuses, [200, 200, 200, 429]);
  assert.equal(fastPath.asked, 0);
});

test('fast-path heartbeats are counted under the route in the HTTP metrics', async (t) => {
  const { send, fastPath, metrics } = await startBeacon(t);

  for (let i = 0; i < 3; i++) await send('PUT', HEARTBEAT);
  await send('PUT', `${HEARTBEAT}?via=fastify`);
  const text = await metrics.registry.metrics();

  assert.equal(fastPath.asked, 3);
  assert.match(text, new RegExp(`beacon_http_requests_total\\{method="PUT",route="${literal(HEARTBEAT_ROUTE)}",status="200"\\} 4\\n`));
  assert.match(text, new RegExp(`beacon_http_request_duration_seconds_count\\{method="PUT",route="${literal(HEARTBEAT_ROUTE)}"\\} 4\\n`));
  assert.match(text, /beacon_heartbeats_total 4\n/);
});

test('a heartbeat arriving while the server closes gets fastify\'s 503 and Connection: close', async (t) => {
  const { app, port, registry, clock } = await startBeacon(t);
  const before = registry.getInstance('web', 'w1').lastHeartbeatAt;
  clock.advance(1_000);
  // Headers begun before close: the connection is busy, so closing waits for it.
  const accepted = nextEvent(app.server, 'connection');
  const socket = connect({ port, host: '127.0.0.1' });
  await once(socket, 'connect');
  const begun = `PUT ${HEARTBEAT} HTTP/1.1\r\nHost: beacon\r\n`;
  socket.write(begun);
  let answer = '';
  socket.on('data', (chunk) => (answer += chunk));
  // node:http parses what it reads at once: with the bytes read, the request has begun.
  const [serverSide] = (await accepted) as [Socket];
  await waitFor(() => serverSide.bytesRead >= begun.length, { what: 'the server to read the begun headers' });

  const closed = app.close();
  // Fastify stops listening only after it marked itself closing and ran the preClose hooks.
  await waitFor(() => !app.server.listening, { what: 'fastify to be closing' });
  socket.write('\r\n');
  // A 200 with keep-alive would hold the socket (and the close) open: cut it, then assert.
  const cut = setTimeout(() => socket.destroy(), 5_000);
  await once(socket, 'close');
  clearTimeout(cut);
  await closed;

  assert.match(answer, /^HTTP\/1\.1 503 /);
  assert.match(answer, /\r\nConnection: close\r\n/i);
  assert.match(answer, /\r\n\r\n\{"error":"Service Unavailable","message":"Service Unavailable","statusCode":503\}$/);
  assert.equal(registry.getInstance('web', 'w1').lastHeartbeatAt, before, 'the refused heartbeat renewed nothing');
});

test('answers kept per record stay the serializer\'s exact bytes through heartbeats, clock moves and changes', () => {
  const { registry, clock } = registryWithClock();
  const serialize = responseSerializerCompiler({ schema: Instance, method: 'PUT', url: HEARTBEAT_ROUTE, httpStatus: '200' });
  const answerFor = heartbeatAnswers(serialize);
  registry.register('web', 'w1', registration({ ttl: 30, tags: ['blue'] }));
  const steps: [string, () => void][] = [
    ['first heartbeat', () => {}],
    ['a second later', () => clock.advance(1_000)],
    ['7 ms later', () => clock.advance(7)],
    ['after a routed heartbeat with output', () => registry.heartbeat('web', 'w1', { output: 'all "good" ü' })],
    ['in maintenance', () => registry.setMaintenance('web', 'w1', { enabled: true, reason: 'deploy "v2" ü' })],
    ['in maintenance, later', () => clock.advance(2_500)],
    ['out of maintenance', () => registry.setMaintenance('web', 'w1', { enabled: false })],
    ['registered again with new tags and meta', () => registry.register('web', 'w1', registration({ ttl: 90, tags: ['green'], meta: { v: '2', note: 'lone \ud800 surrogate, ü' } }))],
    ['a minute later', () => clock.advance(60_000)],
  ];

  for (const [step, change] of steps) {
    change();
    const renewed = registry.renewInMemory('web', 'w1');
    assert.ok(renewed, step);
    const answer = answerFor(renewed);
    assert.equal(answer, serialize(registry.getInstance('web', 'w1')), step);
    assert.equal(answerFor(renewed), answer, `${step}, asked twice`);
  }
});

test('the fast path accepts exactly the names the route schemas accept', () => {
  const piece = fc.oneof(
    fc.string({ maxLength: 140 }),
    fc.stringMatching(/^[a-z0-9-]{1,70}$/),
    fc.stringMatching(/^[A-Za-z0-9._%/-]{1,140}$/),
  );
  fc.assert(
    fc.property(piece, piece, (service, id) => {
      const parsed = heartbeatPath(`/v1/services/${service}/instances/${id}/heartbeat`);
      const valid = ServiceName.safeParse(service).success && InstanceId.safeParse(id).success;
      if (valid) assert.deepEqual(parsed, { service, id });
      // A valid pair never contains '/', so the split cannot differ; an invalid one is always refused.
      else assert.equal(parsed, undefined);
    }),
    { numRuns: 5_000 },
  );
});

function literal(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
}

test('a fault inside the fast path is the same logged 500 fastify gives, and the server keeps serving', async (t) => {
  const { send, app, registry } = await startBeacon(t);
  const fault = new TypeError('injected fault');
  registry.renewInMemory = () => {
    throw fault;
  };
  registry.heartbeat = () => {
    throw fault;
  };
  const logged: unknown[] = [];
  const logError = app.log.error.bind(app.log);
  app.log.error = ((details: unknown, ...rest: unknown[]) => {
    logged.push(details);
    return (logError as (...args: unknown[]) => void)(details, ...rest);
  }) as typeof app.log.error;

  const fast = await send('PUT', HEARTBEAT);
  const throughFastify = await send('PUT', `${HEARTBEAT}?via=fastify`);
  const after = await send('GET', '/v1/services');

  assert.equal(fast.status, 500);
  assert.deepEqual(JSON.parse(fast.body.toString()), JSON.parse(throughFastify.body.toString()));
  assert.deepEqual(JSON.parse(fast.body.toString()), { statusCode: 500, error: 'Internal Server Error', message: 'internal error: the server logged the details' });
  assert.equal(throughFastify.status, 500);
  assert.equal(after.status, 200, 'the process still serves');
  assert.ok(logged.some((details) => (details as { err?: unknown }).err === fault), 'the fault was logged with its error');
});
