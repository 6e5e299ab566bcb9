import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { describe, it } from 'node:test';
import { promisify } from 'node:util';
import Consul from 'consul';
import { waitFor } from '../support/events.js';
import { blockedQueriesReach } from '../support/metrics.js';
import { suiteRegistry } from '../support/suite-registry.js';

/**
 * Independent, real Consul clients against a real `beacon server`: the npm `consul` package
 * and Debian's python3-consul (.ci/run installs it). Each lists services and instances and
 * follows a registration and a deregistration through blocking queries.
 */
const registry = suiteRegistry(['--db', ':memory:', '--datacenter', 'lab']);

/** Debian's python3-consul is installed for Debian's python, whatever python3 is first on PATH. */
const DEBIAN_PYTHON = '/usr/bin/python3';

function consulClient(): Consul {
  const { port } = new URL(registry.server.url);
  return new Consul({ host: '127.0.0.1', port: Number(port) });
}

describe('the npm consul client', () => {
  it('reads the agent, the catalog and a service health from Beacon', async () => {
    await registry.api.register('npm-web', 'a', { address: '127.0.0.2', port: 9001, tags: ['blue'], meta: { version: '1' } });
    const consul = consulClient();

    const self = (await consul.agent.self()) as any;
    const services = await consul.catalog.service.list();
    const entries = (await consul.health.service('npm-web')) as any[];

    assert.equal(self.Config.Datacenter, 'lab');
    assert.deepEqual((services as Record<string, string[]>)['npm-web'], ['blue']);
    assert.deepEqual(
      entries.map((entry) => [entry.Service.ID, entry.Service.Address, entry.Service.Port, entry.Service.Meta.version, entry.Checks[0].Status]),
      [['a', '127.0.0.2', 9001, '1', 'passing']],
    );
  });

  it('follows a registration and a deregistration through a watch (blocking queries)', async (t) => {
    const consul = consulClient();
    const watch = consul.watch({ method: consul.health.service, options: { service: 'npm-watched', wait: '10s' } as any });
    t.after(() => watch.end());
    const changes: string[][] = [];
    let failure: unknown;
    watch.on('change', (data: any[]) => changes.push(data.map((entry) => entry.Service.ID)));
    watch.on('error', (error: unknown) => (failure = error));
    const seen = async (count: number) => {
      await waitFor(() => changes.length >= count || failure !== undefined, { what: () => `${count} changes seen by the watch (${changes.length} so far)` });
      if (failure !== undefined) throw failure;
    };

    // Each change is made once the watch's next query is parked at the registry.
    await seen(1);
    await blockedQueriesReach(registry.server.url, 1);
    await registry.api.register('npm-watched', 'w1', { address: '127.0.0.3', port: 9002 });
    await seen(2);
    await blockedQueriesReach(registry.server.url, 1);
    await registry.api.delete('/v1/services/npm-watched/instances/w1');
    await seen(3);

    assert.deepEqual(changes.slice(0, 3), [[], ['w1'], []]);
  });
});

/**
 * A python-consul script: lists the catalog and the service, then blocks on the service's
 * health with the index it got, twice, printing one JSON line per answer.
 */
const PYTHON_FOLLOWER = `
import json, sys, consul
c = consul.Consul(host='127.0.0.1', port=int(sys.argv[1]))
service = sys.argv[2]
index, services = c.catalog.services()
print(json.dumps({"step": "catalog", "index": index, "services": services}), flush=True)
index, nodes = c.health.service(service)
print(json.dumps({"step": "list", "ids": [n["Service"]["ID"] for n in nodes]}), flush=True)
for step in ("registered", "deregistered"):
    index, nodes = c.health.service(service, index=index, wait="10s")
    print(json.dumps({"step": step, "index": index, "ids": [n["Service"]["ID"] for n in nodes]}), flush=True)
`;

describe('python-consul (Debian python3-consul)', () => {
  it('is installed for Debian python (CI installs python3-consul)', async () => {
    await promisify(execFile)(DEBIAN_PYTHON, ['-c', 'import consul']).catch((error: Error) => {
      throw new Error(`python3-consul is missing: apt-get install python3-consul (${error.message})`);
    });
  });

  it('lists services and follows a registration and a deregistration through blocking queries', async (t) => {
    await registry.api.register('py-web', 'p0', { address: '127.0.0.4', port: 9003, tags: ['py'] });
    const { port } = new URL(registry.server.url);
    const child = spawn(DEBIAN_PYTHON, ['-c', PYTHON_FOLLOWER, port, 'py-web'], { stdio: ['ignore', 'pipe', 'pipe'] });
    t.after(() => child.kill());
    let stderr = '';
    child.stderr.on('data', (chunk) => (stderr += chunk));
    const lines = createInterface({ input: child.stdout })[Symbol.asyncIterator]();
    const next = async () => {
      const line = await lines.next();
      if (line.done) throw new Error(`python-consul ended early: ${stderr}`);
      return JSON.parse(line.value);
    };

    const catalog = await next();
    const listed = await next();
    await registry.api.register('py-web', 'p1', { address: '127.0.0.5', port: 9004 });
    const registered = await next();
    await registry.api.delete('/v1/services/py-web/instances/p0');
    const deregistered = await next();
    const [code] = await once(child, 'exit');

    assert.deepEqual(catalog.services['py-web'], ['py']);
    assert.ok(Number(catalog.index) > 0);
    assert.deepEqual(listed.ids, ['p0']);
    assert.deepEqual(registered.ids, ['p0', 'p1']);
    assert.deepEqual(deregistered.ids, ['p1']);
    assert.ok(Number(deregistered.index) > Number(registered.index));
    assert.equal(code, 0, stderr);
  });
});
