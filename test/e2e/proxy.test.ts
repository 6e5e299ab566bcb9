import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { type Backend, startBackend } from '../support/backends.js';
import { waitFor } from '../support/events.js';
import { client } from '../support/http.js';
import { scrape } from '../support/metrics.js';
import { proxyStats, startProxyProcess } from '../support/proxy-process.js';
import { type ServerProcess, startServerProcess } from '../support/server-process.js';
import { type ProxiedAnswer, sendMany } from '../support/proxy-load.js';

function shareOf(answers: ProxiedAnswer[], backend: string): number {
  return answers.filter((answer) => answer.backend === backend).length / answers.length;
}

describe('beacon proxy, end to end (real registry, real backends, real sockets)', () => {
  let registry: ServerProcess;
  let api: ReturnType<typeof client>;
  const backends: Backend[] = [];
  let serviceCount = 0;

  before(async () => {
    registry = await startServerProcess(['--db', ':memory:']);
    api = client(registry.url);
  });
  after(async () => {
    await Promise.all(backends.map((backend) => backend.kill().catch(() => {})));
    await registry?.stop();
  });

  /** A fresh service with one registered backend per weight; answers the service name and its backends. */
  async function service(weights: number[]): Promise<{ name: string; backends: Backend[] }> {
    const name = `svc-${++serviceCount}`;
    const started: Backend[] = [];
    for (const [i, weight] of weights.entries()) {
      const backend = await startBackend(`b${i}`);
      backends.push(backend);
      started.push(backend);
      const registered = await api.register(name, `b${i}`, { address: '127.0.0.1', port: backend.port, weight, ttl: 300 });
      assert.equal(registered.status, 201);
    }
    return { name, backends: started };
  }

  async function proxy(name: string, ...flags: string[]) {
    const started = await startProxyProcess(['--service', name, '--registry', registry.url, ...flags]);
    return started;
  }

  for (const policy of ['weighted-round-robin', 'least-request', 'random']) {
    it(`${policy}: weights 1:3 give 25% / 75% of 4,000 requests (± 3 points)`, async (t) => {
      const { name } = await service([1, 3]);
      const running = await proxy(name, '--policy', policy);
      t.after(() => running.stop());

      const answers = await sendMany(running.ready.url, 4000, 4);

      assert.equal(answers.filter((answer) => answer.status !== 200).length, 0);
      assert.ok(Math.abs(shareOf(answers, 'b0') - 0.25) <= 0.03, `b0 got ${shareOf(answers, 'b0')}`);
      assert.ok(Math.abs(shareOf(answers, 'b1') - 0.75) <= 0.03, `b1 got ${shareOf(answers, 'b1')}`);
    });
  }

  it('a backend killed during 2,000 GETs at 50 concurrency costs at most 0.1% client errors', async (t) => {
    const { name, backends: [victim] } = await service([1, 1, 1]);
    const running = await proxy(name);
    t.after(() => running.stop());

    const load = sendMany(running.ready.url, 2000, 50);
    await waitFor(() => victim!.hits >= 300, { what: 'the load to reach the backend before the kill' });
    await victim!.kill();
    const answers = await load;

    const errors = answers.filter((answer) => answer.status !== 200);
    assert.ok(errors.length <= 2, `${errors.length} errors: ${JSON.stringify(errors.slice(0, 3))}`);
    assert.ok(victim!.hits < 2000 / 3, 'the killed backend stopped getting requests');
  });

  it('a breaker opens after the threshold, half-opens after its back-off and closes when the backend is back, as its metrics count', async (t) => {
    const { name, backends: [failing, healthy] } = await service([1, 1]);
    // Open 0.8-1 s (jitter 0.2): long enough that the ten requests sent while it is open are
    // all sent before it may half-open, however loaded the machine.
    const running = await proxy(name, '--breaker-failures', '3', '--breaker-open', '1s', '--retries', '0', '--max-ejection', '50');
    t.after(() => running.stop());
    failing!.status = 500;

    await sendMany(running.ready.url, 12, 1);
    const tripped = await scrape(running.ready.adminUrl, 'beacon_proxy_breaker_transitions_total');
    const hitsWhileOpen = failing!.hits;
    await sendMany(running.ready.url, 10, 1);
    const hitsAfterOpenRequests = failing!.hits;
    failing!.status = 200;
    // An open breaker turns half-open when it is next looked at after its open time; /stats looks.
    await waitFor(async () => (await proxyStats(running.ready.adminUrl)).instances.find((instance) => instance.id === 'b0')?.breaker === 'half-open', {
      what: "b0's breaker to half-open after its open time",
    });
    await sendMany(running.ready.url, 10, 1);
    const transitions = await scrape(running.ready.adminUrl, 'beacon_proxy_breaker_transitions_total');
    const stats = await proxyStats(running.ready.adminUrl);

    assert.equal(tripped.get('{instance="b0",transition="trip"}'), 1);
    assert.equal(hitsAfterOpenRequests, hitsWhileOpen, 'no request reached the open instance');
    assert.equal(transitions.get('{instance="b0",transition="probe"}'), 1);
    assert.equal(transitions.get('{instance="b0",transition="recover"}'), 1);
    assert.equal(transitions.get('{instance="b1",transition="trip"}'), undefined);
    assert.equal(stats.instances.find((instance) => instance.id === 'b0')?.breaker, 'closed');
    assert.ok(healthy!.hits > 0);
  });

  it('a deregistered instance gets no new request once the proxy has seen it leave', async (t) => {
    const { name, backends: [leaving, staying] } = await service([1, 1]);
    const running = await proxy(name);
    t.after(() => running.stop());
    await sendMany(running.ready.url, 10, 2);

    assert.equal((await api.delete(`/v1/services/${name}/instances/b0`)).status, 204);
    await waitFor(async () => (await proxyStats(running.ready.adminUrl)).instances.every((instance) => instance.id !== 'b0'), {
      what: 'the proxy to drop b0 from its instances',
    });
    const hitsAtDeregistration = leaving!.hits;
    const answers = await sendMany(running.ready.url, 50, 2);

    assert.equal(leaving!.hits, hitsAtDeregistration);
    assert.ok(answers.every((answer) => answer.backend === 'b1'));
    assert.ok(staying!.hits >= 50);
  });

  it('all instances gone: 503 with a JSON error that says why', async (t) => {
    const { name } = await service([1]);
    const running = await proxy(name);
    t.after(() => running.stop());

    await api.delete(`/v1/services/${name}/instances/b0`);
    await waitFor(async () => (await proxyStats(running.ready.adminUrl)).instances.length === 0, { what: 'the proxy to have no instance left' });
    const response = await fetch(running.ready.url);
    const body = (await response.json()) as { statusCode: number; message: string };

    assert.equal(response.status, 503);
    assert.match(response.headers.get('content-type') ?? '', /^application\/json/);
    assert.equal(body.statusCode, 503);
    assert.match(body.message, new RegExp(`no healthy instance of "${name}"`));
  });
});

describe('beacon proxy without its registry', () => {
  it('keeps forwarding to the last known instances while the registry is down', async (t) => {
    const registry = await startServerProcess(['--db', ':memory:']);
    const backend = await startBackend('only');
    t.after(() => backend.kill());
    await client(registry.url).register('lonely', 'only', { address: '127.0.0.1', port: backend.port, ttl: 300 });
    const running = await startProxyProcess(['--service', 'lonely', '--registry', registry.url]);
    t.after(() => running.stop());

    await registry.stop();
    await waitFor(async () => (await scrape(running.ready.adminUrl, 'beacon_proxy_registry_reachable')).get('') === 0, {
      what: 'the proxy to see the registry gone (beacon_proxy_registry_reachable 0)',
    });
    const answers = await sendMany(running.ready.url, 20, 2);

    assert.ok(answers.every((answer) => answer.backend === 'only'), JSON.stringify(answers.slice(0, 2)));
  });
});
