import assert from 'node:assert/strict';
import { describe, it, type TestContext } from 'node:test';
import { Acl } from '../../../../server/acl/acl.js';
import { buildApp } from '../../../../server/http/app.js';
import { MAX_WAIT_MS } from '../../../../server/http/blocking.js';
import { consulQuery } from '../../../../server/http/consul/consul-query.js';
import { Metrics } from '../../../../server/metrics/metrics.js';
import { waitFor, within } from '../../../support/events.js';
import { registration, registryWithClock } from '../../../support/registry.js';

const BOOTSTRAP = 'consul-routes-bootstrap-secret';

async function consulApp(t: TestContext, options: { datacenter?: string; acl?: boolean } = {}) {
  const { registry, store, clock } = registryWithClock();
  const acl = options.acl ? await Acl.open(store, clock, BOOTSTRAP) : undefined;
  const app = await buildApp({
    registry,
    metrics: new Metrics(),
    logLevel: false,
    version: '9.9.9',
    ...(options.datacenter ? { datacenter: options.datacenter } : {}),
    ...(acl ? { acl } : {}),
  });
  t.after(() => app.close());
  return { app, registry, clock, acl };
}

describe('Consul-compatible reads', () => {
  it('agent/self reports the datacenter, and every answer carries the Consul headers', async (t) => {
    const { app } = await consulApp(t, { datacenter: 'eu-west' });

    const answer = await app.inject({ url: '/v1/agent/self' });

    assert.equal(answer.statusCode, 200);
    assert.equal(answer.json().Config.Datacenter, 'eu-west');
    assert.equal(answer.json().Config.Version, '9.9.9');
    assert.ok(Number(answer.headers['x-consul-index']) > 0);
    assert.equal(answer.headers['x-consul-knownleader'], 'true');
    assert.equal(answer.headers['x-consul-lastcontact'], '0');
  });

  it('catalog/services lists every service with the union of its tags, whatever the health', async (t) => {
    const { app, registry } = await consulApp(t);
    registry.register('web', 'w1', registration({ tags: ['v2', 'blue'] }));
    registry.register('web', 'w2', registration({ tags: ['v2', 'green'] }));
    registry.register('db', 'd1', registration());
    registry.heartbeat('db', 'd1', { status: 'critical' });

    const answer = await app.inject({ url: '/v1/catalog/services?stale=&wait=120000ms' });

    assert.deepEqual(answer.json(), { db: [], web: ['blue', 'green', 'v2'] });
  });

  it("a tag change moves catalog/services' index, a plain heartbeat does not", async (t) => {
    const { app, registry } = await consulApp(t);
    registry.register('web', 'w1', registration({ tags: ['v1'] }));
    const index = async () => Number((await app.inject({ url: '/v1/catalog/services' })).headers['x-consul-index']);
    const first = await index();

    registry.heartbeat('web', 'w1', {});
    const afterHeartbeat = await index();
    registry.register('web', 'w1', registration({ tags: ['v2'] }));

    assert.equal(afterHeartbeat, first);
    assert.ok((await index()) > first);
  });

  it('health/service maps each status to its check, and maintenance to a critical _service_maintenance check', async (t) => {
    const { app, registry } = await consulApp(t);
    for (const id of ['a', 'b', 'c', 'd']) registry.register('web', id, registration({ address: '10.0.0.9', port: 9000, weight: 7, tags: ['t'], meta: { zone: 'z1' } }));
    registry.heartbeat('web', 'b', { status: 'warning', output: 'slow' });
    registry.heartbeat('web', 'c', { status: 'critical', output: 'down' });
    registry.setMaintenance('web', 'd', { enabled: true, reason: 'upgrade' });

    const entries = (await app.inject({ url: '/v1/health/service/web' })).json() as any[];

    assert.deepEqual(entries.map((entry) => entry.Checks.map((check: any) => [check.CheckID, check.Status, check.Output || check.Notes])), [
      [['service:a', 'passing', '']],
      [['service:b', 'warning', 'slow']],
      [['service:c', 'critical', 'down']],
      [['service:d', 'passing', ''], ['_service_maintenance:d', 'critical', 'upgrade']],
    ]);
    const [first] = entries;
    assert.deepEqual(first.Node, {
      ID: '',
      Node: '10.0.0.9',
      Address: '10.0.0.9',
      Datacenter: 'dc1',
      TaggedAddresses: { lan: '10.0.0.9', lan_ipv4: '10.0.0.9', wan: '10.0.0.9', wan_ipv4: '10.0.0.9' },
      Meta: {},
    });
    assert.deepEqual(first.Service, {
      ID: 'a',
      Service: 'web',
      Tags: ['t'],
      Address: '10.0.0.9',
      Port: 9000,
      Meta: { zone: 'z1' },
      Weights: { Passing: 7, Warning: 7 },
      EnableTagOverride: false,
      Datacenter: 'dc1',
    });
  });

  it('an expired instance shows its TTL check critical', async (t) => {
    const { app, registry, clock } = await consulApp(t);
    registry.register('web', 'a', registration({ ttl: 1 }));
    clock.advance(1_500);
    registry.sweep();

    const [entry] = (await app.inject({ url: '/v1/health/service/web' })).json() as any[];

    assert.deepEqual([entry.Checks[0].Status, entry.Checks[0].Output], ['critical', 'TTL expired']);
  });

  it('?passing keeps only instances whose checks all pass; ?tag keeps those carrying every tag', async (t) => {
    const { app, registry } = await consulApp(t);
    registry.register('web', 'a', registration({ tags: ['x', 'y'] }));
    registry.register('web', 'b', registration({ tags: ['x'] }));
    registry.register('web', 'c', registration({ tags: ['x', 'y'] }));
    registry.heartbeat('web', 'c', { status: 'warning' });
    const ids = async (query: string) => ((await app.inject({ url: `/v1/health/service/web${query}` })).json() as any[]).map((entry) => entry.Service.ID);

    assert.deepEqual(await ids('?passing'), ['a', 'b']);
    assert.deepEqual(await ids('?passing=false'), ['a', 'b', 'c']);
    assert.deepEqual(await ids('?tag=x&tag=y'), ['a', 'c']);
    assert.deepEqual(await ids('?tag=y&passing=1'), ['a']);
  });

  it('catalog/service flattens node and service, filtered by tag', async (t) => {
    const { app, registry } = await consulApp(t);
    registry.register('web', 'a', registration({ address: '::1', tags: ['x'] }));
    registry.register('web', 'b', registration());

    const answer = (await app.inject({ url: '/v1/catalog/service/web?tag=x' })).json() as any[];

    assert.deepEqual(
      answer.map((entry) => [entry.ServiceID, entry.Address, entry.ServicePort, entry.TaggedAddresses.lan_ipv6]),
      [['a', '::1', 8080, '::1']],
    );
  });

  it('an unknown service is an empty list with an index above 0', async (t) => {
    const { app } = await consulApp(t);

    const answer = await app.inject({ url: '/v1/health/service/nothing-here' });

    assert.deepEqual(answer.json(), []);
    assert.ok(Number(answer.headers['x-consul-index']) >= 1);
  });

  it('status/leader and catalog/datacenters answer JSON', async (t) => {
    const { app } = await consulApp(t);

    const leader = await app.inject({ url: '/v1/status/leader' });
    const datacenters = await app.inject({ url: '/v1/catalog/datacenters' });

    assert.equal(typeof leader.json(), 'string');
    assert.deepEqual(datacenters.json(), ['dc1']);
  });

  it('parameters Beacon cannot honour are refused with a message naming them; others are accepted', async (t) => {
    const { app } = await consulApp(t);
    const cases: Array<[string, number, RegExp?]> = [
      ['?filter=Service.Port%3D%3D80', 400, /querystring\.filter: is not supported/],
      ['?node-meta=rack:1', 400, /querystring\.node-meta: is not supported/],
      ['?dc=other', 400, /querystring\.dc: must be dc1/],
      ['?ns=team-a', 400, /querystring\.ns: must be default/],
      ['?index=abc', 400, /querystring\.index: must be a non-negative integer/],
      ['?wait=soon&index=1', 400, /querystring\.wait: must be a duration/],
      ['?dc=dc1&stale&consistent&cached&near=_agent&ns=default&partition=default&peer=x', 200],
    ];
    for (const [query, status, message] of cases) {
      const answer = await app.inject({ url: `/v1/health/service/web${query}` });
      assert.equal(answer.statusCode, status, query);
      if (message) assert.match(answer.json().message, message, query);
    }
  });

  it('a blocking health query is released by a change to that service, and waits past others', async (t) => {
    const { app, registry } = await consulApp(t);
    registry.register('web', 'a', registration());
    const index = Number((await app.inject({ url: '/v1/health/service/web' })).headers['x-consul-index']);

    const blocked = app.inject({ url: `/v1/health/service/web?index=${index}&wait=30s&stale=` });
    await waitFor(() => registry.blockedQueries === 1, { what: 'the health query parked' });
    registry.register('db', 'd', registration());
    // A change wakes its waiters as it is made: still parked, db's change did not wake web's query.
    const parkedPastDb = registry.blockedQueries;
    registry.deregister('web', 'a');
    // Far below the 30 s wait: only web's change can have released it.
    const answer = await within(blocked, 10_000, 'the blocked health query after web changed');

    assert.equal(parkedPastDb, 1, "db's change left web's query parked");
    assert.deepEqual(answer.json(), []);
    assert.ok(Number(answer.headers['x-consul-index']) > index);
  });

  it('a wait longer than Beacon allows is shortened to its maximum, not refused (Consul shortens too)', () => {
    const query = consulQuery('dc1');

    assert.equal(query.parse({ wait: '10m' }).wait, MAX_WAIT_MS);
    assert.equal(query.parse({ wait: '120000ms' }).wait, 120_000);
  });

  it('with --acl a Consul client authenticates with X-Consul-Token or ?token=', async (t) => {
    const { app } = await consulApp(t, { acl: true });

    const without = await app.inject({ url: '/v1/catalog/services' });
    const header = await app.inject({ url: '/v1/catalog/services', headers: { 'x-consul-token': BOOTSTRAP } });
    const query = await app.inject({ url: `/v1/health/service/web?token=${BOOTSTRAP}` });
    const wrong = await app.inject({ url: '/v1/agent/self', headers: { 'x-consul-token': 'not-a-token-at-all' } });
    const queryElsewhere = await app.inject({ url: `/v1/acl/tokens?token=${BOOTSTRAP}` });

    assert.deepEqual([without.statusCode, header.statusCode, query.statusCode, wrong.statusCode], [401, 200, 200, 401]);
    assert.equal(queryElsewhere.statusCode, 401, "Beacon's own routes take no token from the URL");
  });
});
