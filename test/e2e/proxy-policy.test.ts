import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Pool } from 'undici';
import { type Backend, startBackend } from '../support/backends.js';
import { waitFor, within } from '../support/events.js';
import { client } from '../support/http.js';
import { scrape } from '../support/metrics.js';
import { startProxyProcess } from '../support/proxy-process.js';
import { type ServerProcess, startServerProcess } from '../support/server-process.js';
import { type ProxiedAnswer, sendMany, sendThrough } from '../support/proxy-load.js';

/** Steady load through `url` until `stop()` (or `limit` requests, so a hang cannot run forever). */
function steadyLoad(url: string, concurrency: number, limit: number) {
  const pool = new Pool(url, { connections: concurrency });
  const answers: ProxiedAnswer[] = [];
  let stopped = false;
  const worker = async () => {
    while (!stopped && answers.length < limit) answers.push(await sendThrough(pool));
  };
  const running = Promise.all(Array.from({ length: concurrency }, worker));
  let stopping: Promise<ProxiedAnswer[]> | undefined;
  return {
    answers,
    /** Stops the load (the test's cleanup calls it again, harmlessly) and resolves with every answer. */
    stop(): Promise<ProxiedAnswer[]> {
      stopped = true;
      return (stopping ??= running.then(() => pool.close()).then(() => answers));
    },
  };
}

interface PolicyStats {
  trafficPolicy: { index: number; inForce: Record<string, { value: unknown; source: string }> };
}

async function policyStats(adminUrl: string): Promise<PolicyStats> {
  return (await (await fetch(`${adminUrl}/stats`)).json()) as PolicyStats;
}

describe('beacon proxy follows the traffic policy (real registry, real proxies, real backends)', () => {
  let registry: ServerProcess;
  let api: ReturnType<typeof client>;
  const backends: Backend[] = [];

  before(async () => {
    registry = await startServerProcess(['--db', ':memory:']);
    api = client(registry.url);
  });
  after(async () => {
    await Promise.all(backends.map((backend) => backend.kill().catch(() => {})));
    await registry?.stop();
  });

  /** Starts a backend answering its name and registers it as `id` of `service` with `tags`. */
  async function instance(service: string, id: string, tags: string[] = []): Promise<Backend> {
    const backend = await startBackend(id);
    backends.push(backend);
    const registered = await api.register(service, id, { address: '127.0.0.1', port: backend.port, tags, ttl: 300 });
    assert.equal(registered.status, 201);
    return backend;
  }

  async function setPolicy(service: string, policy: unknown): Promise<number> {
    const answer = await api.put(`/v1/services/${service}/policy`, policy);
    assert.ok(answer.status === 200 || answer.status === 201, JSON.stringify(answer.body));
    return Number(answer.headers.get('x-beacon-index'));
  }

  async function proxy(service: string, ...flags: string[]) {
    const running = await startProxyProcess(['--service', service, '--registry', registry.url, ...flags]);
    return running;
  }

  it("split 90/10: the canary's share of 10,000 requests is 10% ± 2 points", async (t) => {
    await instance('canaried', 'stable-1', ['v1']);
    await instance('canaried', 'stable-2', ['v1']);
    await instance('canaried', 'canary-1', ['v2']);
    const index = await setPolicy('canaried', { split: [{ tag: 'v1', weight: 90 }, { tag: 'v2', weight: 10 }] });
    const running = await proxy('canaried');
    t.after(() => running.stop());
    await waitFor(async () => (await policyStats(running.ready.adminUrl)).trafficPolicy.index === index, { what: `the proxy at policy index ${index}` });

    const answers = await sendMany(running.ready.url, 10_000, 8);

    assert.deepEqual(answers.filter((answer) => answer.status !== 200), []);
    const canaryShare = answers.filter((answer) => answer.backend === 'canary-1').length / answers.length;
    assert.ok(Math.abs(canaryShare - 0.1) <= 0.02, `canary share ${canaryShare}`);
  });

  it('a ring-hash policy set in the registry gives each user one instance through the proxy', async (t) => {
    for (const id of ['hashed-1', 'hashed-2', 'hashed-3']) await instance('hashed', id);
    const running = await proxy('hashed');
    t.after(() => running.stop());
    const index = await setPolicy('hashed', { balancing: 'ring-hash', hashOn: { header: 'X-User-Id' } });
    await waitFor(async () => (await policyStats(running.ready.adminUrl)).trafficPolicy.index === index, { what: `the proxy at policy index ${index}` });

    const pool = new Pool(running.ready.url, { connections: 4 });
    t.after(() => pool.close());
    const backendOf = async (user: string) => {
      const { statusCode, body } = await pool.request({ path: '/', method: 'GET', headers: { 'x-user-id': user } });
      assert.equal(statusCode, 200);
      return (JSON.parse(await body.text()) as { backend: string }).backend;
    };
    const users = Array.from({ length: 60 }, (_, i) => `user-${i}`);
    const first = await Promise.all(users.map(backendOf));
    const again = await Promise.all(users.map(backendOf));

    assert.deepEqual(again, first);
    assert.equal(new Set(first).size, 3, 'the users spread over the three instances');
  });

  it('a policy change under steady load reaches 2 proxies within 1 s of the PUT, with 0 failed requests', async (t) => {
    await instance('changing', 'blue-1', ['blue']);
    await instance('changing', 'green-1', ['green']);
    await setPolicy('changing', { split: [{ tag: 'blue', weight: 1 }] });
    const proxies = await Promise.all([proxy('changing'), proxy('changing')]);
    t.after(() => Promise.all(proxies.map((running) => running.stop())));
    const loads = proxies.map((running) => steadyLoad(running.ready.url, 4, 50_000));
    t.after(() => Promise.all(loads.map((load) => load.stop())));
    await waitFor(() => loads.every((load) => load.answers.length >= 200), { what: 'load flowing through both proxies' });

    // The proxies log each policy they apply; the moment the line arrives is when it was in force.
    const appliedAt = proxies.map(
      (running) =>
        new Promise<number>((resolve) => {
          // output() has taken in the chunk already (its listener came first), whole lines included.
          const watch = () => {
            if (!/"green".*traffic policy at index \d+ applied/.test(running.output())) return;
            running.child.stdout!.off('data', watch);
            resolve(performance.now());
          };
          running.child.stdout!.on('data', watch);
        }),
    );
    const index = await setPolicy('changing', { split: [{ tag: 'green', weight: 1 }], balancing: 'least-request', retries: { count: 1 } });
    const acknowledgedAt = performance.now();
    // The deadline only ends a hang (a proxy that never applies it); the 1 s bound is asserted below.
    const applied = await within(Promise.all(appliedAt), 20_000, 'both proxies logging the new policy');
    t.diagnostic(`applied ${applied.map((at) => Math.round(at - acknowledgedAt)).join(' ms, ')} ms after the PUT's acknowledgment`);
    const servedBefore = loads.map((load) => load.answers.length);
    // Traffic keeps flowing under the new policy before the load stops.
    await waitFor(() => loads.every((load, i) => load.answers.length >= servedBefore[i]! + 200), { what: '200 more requests through each proxy' });
    const answers = await Promise.all(loads.map((load) => load.stop()));

    for (const [i, at] of applied.entries()) assert.ok(at - acknowledgedAt <= 1_000, `proxy ${i} applied the policy ${Math.round(at - acknowledgedAt)} ms after the PUT`);
    for (const running of proxies) assert.equal((await policyStats(running.ready.adminUrl)).trafficPolicy.index, index);
    assert.deepEqual(answers.flat().filter((answer) => answer.status !== 200), []);
    for (const [i, served] of answers.entries()) {
      assert.deepEqual(new Set(served.slice(-100).map((answer) => answer.backend)), new Set(['green-1']), `proxy ${i} sends to green once the policy says so`);
    }
    assert.equal((await scrape(proxies[0]!.ready.adminUrl, 'beacon_proxy_policy_index')).get(''), index);
  });

  it('a request in flight keeps the settings it started with; the next request gets the new policy', async (t) => {
    // The backend holds every request until the test lets it answer: no timing involved.
    const held: (() => void)[] = [];
    const backend = await startBackend('held', (_request, response) => {
      held.push(() => response.end('{"backend": "held"}'));
    });
    backends.push(backend);
    t.after(() => held.splice(0).forEach((answer) => answer()));
    await api.register('holding', 'held', { address: '127.0.0.1', port: backend.port, ttl: 300 });
    // Flags far beyond the client's own 10 s headers timeout: only the policy's 100 ms can answer the late request with a 504.
    const running = await proxy('holding', '--retries', '0', '--try-timeout', '60s', '--timeout', '60s');
    t.after(() => running.stop());
    const pool = new Pool(running.ready.url, { connections: 2 });
    t.after(() => pool.close());
    const inFlight = sendThrough(pool);
    await waitFor(() => held.length === 1, { what: 'the first request at the backend' });

    const index = await setPolicy('holding', { tryTimeout: '100ms', timeout: '100ms' });
    await waitFor(async () => (await policyStats(running.ready.adminUrl)).trafficPolicy.index === index, { what: `the proxy at policy index ${index}` });
    const late = await sendThrough(pool);
    held.shift()!();

    assert.deepEqual(await inFlight, { status: 200, backend: 'held' });
    assert.equal(late.status, 504, JSON.stringify(late));
  });

  it('failover: with no healthy primary, requests go to the standby tag, then to the other service', async (t) => {
    await instance('guarded', 'primary-1');
    await instance('guarded', 'standby-1', ['standby']);
    await instance('guarded-dr', 'dr-1');
    await setPolicy('guarded', { failover: [{ tag: 'standby' }, { service: 'guarded-dr' }] });
    const running = await proxy('guarded');
    t.after(() => running.stop());
    const answeredBy = async () => (await sendMany(running.ready.url, 20, 2)).map((answer) => answer.backend ?? `${answer.status} ${answer.error}`);
    assert.deepEqual(new Set(await answeredBy()), new Set(['primary-1']));

    await api.heartbeat('guarded', 'primary-1', { status: 'critical' });
    await waitFor(async () => (await answeredBy()).every((backend) => backend === 'standby-1'), { what: 'requests answered by the standby' });
    await api.heartbeat('guarded', 'standby-1', { status: 'critical' });
    await waitFor(async () => (await answeredBy()).every((backend) => backend === 'dr-1'), { what: 'requests answered by the other service' });
    await api.heartbeat('guarded', 'primary-1', { status: 'passing' });

    await waitFor(async () => (await answeredBy()).every((backend) => backend === 'primary-1'), { what: 'requests back on the primary' });
  });

  it('/stats shows the policy in force, each field with its source, and the index it came from', async (t) => {
    await instance('explained', 'e1');
    const index = await setPolicy('explained', { balancing: 'random', outlier: { maxEjectionPercent: 20 } });
    const running = await proxy('explained', '--retries', '1');
    t.after(() => running.stop());

    const { trafficPolicy } = await waitFor(async () => {
      const stats = await policyStats(running.ready.adminUrl);
      return stats.trafficPolicy.index === index && stats;
    });

    assert.deepEqual(trafficPolicy.inForce.balancing, { value: 'random', source: 'policy' });
    assert.equal(trafficPolicy.inForce.outlier!.source, 'policy');
    assert.equal((trafficPolicy.inForce.outlier!.value as { maxEjection: number }).maxEjection, 0.2);
    assert.equal(trafficPolicy.inForce.retries!.source, 'flag');
    assert.equal((trafficPolicy.inForce.retries!.value as { count: number }).count, 1);
    assert.deepEqual(trafficPolicy.inForce.timeoutMs, { value: 15_000, source: 'default' });
    assert.deepEqual(trafficPolicy.inForce.split, { value: null, source: 'default' });
  });
});
