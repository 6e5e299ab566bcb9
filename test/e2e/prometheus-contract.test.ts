import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { within } from '../support/events.js';
import { blockedQueriesReach } from '../support/metrics.js';
import { suiteRegistry } from '../support/suite-registry.js';

/**
 * Prometheus' consul_sd_configs, replayed request by request against a real `beacon server`
 * (Debian's prometheus is built without Consul discovery, so it cannot be run here). The
 * requests are what Prometheus' discovery/consul sends through Consul's Go client: agent/self
 * for the datacenter, then catalog/services and health/service as blocking queries with
 * `stale` and `wait=120000ms`, the index omitted while it is 0. Every header and field it reads
 * is checked the way the Go client parses it, and targets are built as Prometheus builds them.
 */
const TOKEN = 'prometheus-contract-bootstrap-token';
const registry = suiteRegistry(['--db', ':memory:', '--acl', '--acl-bootstrap-token', TOKEN]);

interface ConsulAnswer {
  index: bigint;
  body: any;
}

/** One request as Consul's Go client sends it, and its answer as the Go client parses it. */
async function consulGet(path: string, lastIndex = 0n): Promise<ConsulAnswer> {
  const query = new URLSearchParams();
  if (lastIndex !== 0n) query.set('index', String(lastIndex));
  query.set('stale', '');
  query.set('wait', '120000ms');
  const response = await fetch(`${registry.server.url}${path}?${query}`, { headers: { 'X-Consul-Token': TOKEN } });
  assert.equal(response.status, 200, `${path}: ${await response.clone().text()}`);
  // api.parseQueryMeta: both numbers must parse as uint64, or the whole answer is an error.
  const index = response.headers.get('x-consul-index');
  const lastContact = response.headers.get('x-consul-lastcontact');
  assert.match(index ?? '', /^\d+$/, `${path}: X-Consul-Index`);
  assert.match(lastContact ?? '', /^\d+$/, `${path}: X-Consul-LastContact`);
  assert.equal(response.headers.get('x-consul-knownleader'), 'true');
  assert.ok(BigInt(index!) > 0n, 'an index of 0 would make Prometheus poll without blocking');
  return { index: BigInt(index!), body: await response.json() };
}

/** Consul's api.HealthChecks.AggregatedStatus, which Prometheus exposes as __meta_consul_health. */
function aggregatedStatus(checks: Array<{ CheckID: string; Status: string }>): string {
  let passing = false;
  let warning = false;
  let critical = false;
  let maintenance = false;
  for (const check of checks) {
    if (check.CheckID === '_node_maintenance' || check.CheckID.startsWith('_service_maintenance:')) {
      maintenance = true;
      continue;
    }
    if (check.Status === 'passing') passing = true;
    else if (check.Status === 'warning') warning = true;
    else if (check.Status === 'critical') critical = true;
    else return '';
  }
  if (maintenance) return 'maintenance';
  if (critical) return 'critical';
  if (warning) return 'warning';
  return passing ? 'passing' : '';
}

/** The target labels Prometheus builds from one health/service entry. */
function target(entry: any): Record<string, string> {
  const host = entry.Service.Address !== '' ? entry.Service.Address : entry.Node.Address;
  const labels: Record<string, string> = {
    __address__: host.includes(':') ? `[${host}]:${entry.Service.Port}` : `${host}:${entry.Service.Port}`,
    __meta_consul_address: entry.Node.Address,
    __meta_consul_node: entry.Node.Node,
    __meta_consul_tags: `,${entry.Service.Tags.join(',')},`,
    __meta_consul_service_address: entry.Service.Address,
    __meta_consul_service_port: String(entry.Service.Port),
    __meta_consul_service_id: entry.Service.ID,
    __meta_consul_health: aggregatedStatus(entry.Checks),
  };
  for (const [key, value] of Object.entries(entry.Node.Meta as Record<string, string>)) labels[`__meta_consul_metadata_${key}`] = value;
  for (const [key, value] of Object.entries(entry.Service.Meta as Record<string, string>)) labels[`__meta_consul_service_metadata_${key}`] = value;
  for (const [key, value] of Object.entries(entry.Node.TaggedAddresses as Record<string, string>)) labels[`__meta_consul_tagged_address_${key}`] = value;
  return labels;
}

async function register(service: string, id: string, fields: Record<string, unknown>): Promise<void> {
  const response = await fetch(`${registry.server.url}/v1/services/${service}/instances/${id}`, {
    method: 'PUT',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${TOKEN}` },
    body: JSON.stringify({ address: '127.0.0.1', port: 9100, ...fields }),
  });
  assert.ok(response.ok, await response.text());
}

describe('Prometheus consul_sd_configs request sequence', () => {
  it('discovers targets, then follows a change through a blocked health query', async () => {
    await register('node-exporter', 'ne-1', { address: '10.1.0.1', port: 9100, tags: ['linux', 'prod'], meta: { rack: 'r1' } });

    // Discovery.getDatacenter: only Config.Datacenter is read, as a string.
    const self = await consulGet('/v1/agent/self');
    assert.equal(typeof self.body.Config.Datacenter, 'string');

    // watchServices: the first call has no index.
    const catalog = await consulGet('/v1/catalog/services');
    assert.deepEqual(catalog.body['node-exporter'], ['linux', 'prod']);

    // watchService: health.ServiceMultipleTags(name, nil, passingOnly=false).
    const health = await consulGet('/v1/health/service/node-exporter');
    assert.deepEqual(health.body.map(target), [
      {
        __address__: '10.1.0.1:9100',
        __meta_consul_address: '10.1.0.1',
        __meta_consul_node: '10.1.0.1',
        __meta_consul_tags: ',linux,prod,',
        __meta_consul_service_address: '10.1.0.1',
        __meta_consul_service_port: '9100',
        __meta_consul_service_id: 'ne-1',
        __meta_consul_health: 'passing',
        __meta_consul_service_metadata_rack: 'r1',
        __meta_consul_tagged_address_lan: '10.1.0.1',
        __meta_consul_tagged_address_lan_ipv4: '10.1.0.1',
        __meta_consul_tagged_address_wan: '10.1.0.1',
        __meta_consul_tagged_address_wan_ipv4: '10.1.0.1',
      },
    ]);

    // The next health call blocks on the index it was given, until the service changes.
    const blocked = consulGet('/v1/health/service/node-exporter', health.index);
    await blockedQueriesReach(registry.server.url, 1);
    await register('node-exporter', 'ne-2', { address: '::1', port: 9101 });
    // Far below its 120 s wait: the blocked call is released by the change itself.
    const released = await within(blocked, 10_000, 'the blocked health call after the change');

    assert.ok(released.index > health.index, 'a changed index: Prometheus ignores an answer whose index did not move');
    assert.deepEqual(released.body.map((entry: any) => target(entry).__address__), ['10.1.0.1:9100', '[::1]:9101']);
  });

  it('follows a new service through a blocked catalog query', async () => {
    const catalog = await consulGet('/v1/catalog/services');
    const blocked = consulGet('/v1/catalog/services', catalog.index);
    await blockedQueriesReach(registry.server.url, 1);

    await register('blackbox', 'bb-1', { port: 9115 });
    const released = await within(blocked, 10_000, 'the blocked catalog call after the change');

    assert.ok(released.index > catalog.index);
    assert.ok('blackbox' in released.body);
  });

  it('shows maintenance and failing checks in __meta_consul_health', async () => {
    await register('api', 'ok', {});
    await register('api', 'slow', {});
    await register('api', 'parked', {});
    const headers = { 'content-type': 'application/json', authorization: `Bearer ${TOKEN}` };
    await fetch(`${registry.server.url}/v1/services/api/instances/slow/heartbeat`, { method: 'PUT', headers, body: JSON.stringify({ status: 'warning' }) });
    await fetch(`${registry.server.url}/v1/services/api/instances/parked/maintenance`, { method: 'PUT', headers, body: JSON.stringify({ enabled: true }) });

    const health = await consulGet('/v1/health/service/api');

    assert.deepEqual(
      health.body.map((entry: any) => [entry.Service.ID, target(entry).__meta_consul_health]),
      [['ok', 'passing'], ['parked', 'maintenance'], ['slow', 'warning']],
    );
  });

  it('a blocked call that times out answers the same index, which Prometheus reads as "no update"', async () => {
    const health = await consulGet('/v1/health/service/node-exporter');

    const response = await fetch(`${registry.server.url}/v1/health/service/node-exporter?index=${health.index}&stale=&wait=200ms`, { headers: { 'X-Consul-Token': TOKEN } });

    assert.equal(BigInt(response.headers.get('x-consul-index')!), health.index);
  });

  it('without a token the registry refuses, as a Consul agent with ACLs does', async () => {
    const response = await fetch(`${registry.server.url}/v1/catalog/services`);

    assert.equal(response.status, 401);
  });
});
