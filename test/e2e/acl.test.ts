import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { InstanceWatcher } from '../../clients/registry/instance-watcher.js';
import { newRegistryClient } from '../support/registry-client.js';
import { parse, queryPacket, udpExchange } from '../support/dns.js';
import { runServerExpectingExit } from '../support/server-process.js';
import { suiteRegistry } from '../support/suite-registry.js';

const BOOTSTRAP = 'bootstrap-secret-for-tests';

interface Answer {
  status: number;
  body: { message?: string; secret?: string; id?: string } & Record<string, unknown>;
  headers: Headers;
}

describe('ACL tokens (beacon server --acl)', () => {
  const registry = suiteRegistry(['--db', ':memory:', '--acl', '--acl-bootstrap-token', BOOTSTRAP]);

  async function call(method: string, path: string, token?: string, body?: unknown, header = 'authorization'): Promise<Answer> {
    const headers: Record<string, string> = {};
    if (token !== undefined) headers[header] = header === 'authorization' ? `Bearer ${token}` : token;
    if (body !== undefined) headers['content-type'] = 'application/json';
    const response = await fetch(`${registry.server.url}${path}`, { method, headers, ...(body === undefined ? {} : { body: JSON.stringify(body) }) });
    const text = await response.text();
    return { status: response.status, body: text ? JSON.parse(text) : {}, headers: response.headers };
  }

  async function token(kind: string, services?: string[]): Promise<{ id: string; secret: string }> {
    const created = await call('POST', '/v1/acl/tokens', BOOTSTRAP, { kind, ...(services ? { services } : {}), description: `${kind} for tests` });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    return { id: created.body.id!, secret: created.body.secret! };
  }

  const registration = { address: '127.0.0.1', port: 8080, ttl: 300 };

  it('a /v1 request without a token is 401 and says what to send; probes stay open', async () => {
    const denied = await call('GET', '/v1/services');
    const health = await fetch(`${registry.server.url}/healthz`);

    assert.equal(denied.status, 401);
    assert.match(denied.body.message!, /a token is required: send Authorization: Bearer <secret>/);
    assert.equal(denied.headers.get('www-authenticate'), 'Bearer realm="beacon"');
    assert.equal(health.status, 200);
  });

  it('an unknown token is 401, a malformed Authorization too', async () => {
    assert.match((await call('GET', '/v1/services', 'not-a-real-secret')).body.message!, /unknown token/);
    const basic = await fetch(`${registry.server.url}/v1/services`, { headers: { authorization: 'Basic dXNlcjpwYXNz' } });
    assert.equal(basic.status, 401);
  });

  it('a service token for "a" writes "a", gets 403 naming the right on "b", and reads everything', async () => {
    const { secret, id } = await token('service', ['a']);

    const own = await call('PUT', '/v1/services/a/instances/a1', secret, registration);
    const other = await call('PUT', '/v1/services/b/instances/b1', secret, registration);
    const read = await call('GET', '/v1/services', secret);

    assert.equal(own.status, 201);
    assert.equal(other.status, 403);
    assert.equal(other.body.message, `token ${id} (service) may write only "a": writing service "b" needs a management token or a service token listing it`);
    assert.equal(read.status, 200);
    assert.deepEqual((await call('GET', '/v1/services/b/instances', BOOTSTRAP)).body, [], 'the refused write changed nothing');
  });

  it('a read token cannot write or administer tokens', async () => {
    const { secret } = await token('read');

    const write = await call('PUT', '/v1/services/a/instances/r1/heartbeat', secret);
    const admin = await call('GET', '/v1/acl/tokens', secret);

    assert.equal(write.status, 403);
    assert.match(write.body.message!, /\(read\) may only read/);
    assert.equal(admin.status, 403);
    assert.match(admin.body.message!, /administering tokens needs a management token/);
  });

  it('X-Beacon-Token works like a bearer token', async () => {
    const { secret } = await token('service', ['x']);

    const registered = await call('PUT', '/v1/services/x/instances/x1', secret, registration, 'x-beacon-token');

    assert.equal(registered.status, 201);
  });

  it('tokens are listed without secrets, and a revoked token stops working on the next request', async () => {
    const { secret, id } = await token('read');
    const before = await call('GET', '/v1/services', secret);

    const listing = await call('GET', '/v1/acl/tokens', BOOTSTRAP);
    const revoked = await call('DELETE', `/v1/acl/tokens/${id}`, BOOTSTRAP);
    const after = await call('GET', '/v1/services', secret);

    assert.equal(before.status, 200);
    assert.ok(!JSON.stringify(listing.body).includes(secret));
    assert.ok((listing.body as unknown as { id: string }[]).some((listed) => listed.id === id));
    assert.equal(revoked.status, 204);
    assert.equal(after.status, 401);
    assert.equal((await call('DELETE', `/v1/acl/tokens/${id}`, BOOTSTRAP)).status, 404);
  });

  it('bad token requests get a 400 naming the field', async () => {
    const noServices = await call('POST', '/v1/acl/tokens', BOOTSTRAP, { kind: 'service' });
    const badKind = await call('POST', '/v1/acl/tokens', BOOTSTRAP, { kind: 'root' });
    const servicesOnRead = await call('POST', '/v1/acl/tokens', BOOTSTRAP, { kind: 'read', services: ['a'] });

    assert.equal(noServices.status, 400);
    assert.match(noServices.body.message!, /^body\.services: must list at least one service/);
    assert.match(badKind.body.message!, /^body\.kind:/);
    assert.match(servicesOnRead.body.message!, /^body\.services: only service tokens list services/);
  });

  it('the registry client and the watcher carry their tokens', async () => {
    const writer = await token('service', ['web']);
    const reader = await token('read');
    const client = newRegistryClient(registry.server.url, 'web-acl', { token: writer.secret });
    const watcher = new InstanceWatcher({ registry: registry.server.url, service: 'web', token: reader.secret });

    await client.start();
    watcher.start();
    const seen = await watcher.ready();
    await watcher.close();
    await client.close();

    assert.deepEqual(seen.map((instance) => instance.id), ['web-acl']);
  });

  it('DNS stays open: it reveals only healthy addresses', async () => {
    const { secret } = await token('service', ['dns']);
    await call('PUT', '/v1/services/dns/instances/d1', secret, { ...registration, address: '10.1.2.3' });

    const answer = parse((await udpExchange(registry.server.dnsPort, queryPacket('dns.service.beacon.internal', 'A')))!);

    assert.deepEqual(answer.answers.map((record) => (record as { address?: string }).address), ['10.1.2.3']);
  });
});

describe('beacon server --acl without a management token', () => {
  it('refuses to start, saying how to give one', async () => {
    const { code, stderr } = await runServerExpectingExit(['--db', ':memory:', '--acl', '--http-port', '0', '--dns-port', '0']);

    assert.equal(code, 1);
    assert.match(stderr, /^beacon server: --acl needs a management token: give one with --acl-bootstrap-token/);
  });
});
