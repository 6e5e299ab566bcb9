import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import fc from 'fast-check';
import type { FastifyInstance } from 'fastify';
import { Acl } from '../../../server/acl/acl.js';
import { ManualClock } from '../../../contract/clock.js';
import { buildApp } from '../../../server/http/app.js';
import { Metrics } from '../../../server/metrics/metrics.js';
import { Registry } from '../../../server/registry/registry.js';
import { SqliteStore } from '../../../server/store/sqlite/sqlite-store.js';

/**
 * Property: whatever arrives — random paths under the real routes, random query strings,
 * random headers, random JSON or bytes as the body — the API answers with a status below 500
 * and an error body in its documented shape, and keeps working afterwards. `BEACON_FUZZ_RUNS`
 * sends more requests (the suite sends 10,000 per app; 40,000 per app also passed).
 */
const RUNS = Number(process.env.BEACON_FUZZ_RUNS ?? 10_000);
const BOOTSTRAP = 'fuzzing-bootstrap-secret';

const segment = fc.oneof(
  fc.constantFrom('v1', 'services', 'instances', 'heartbeat', 'maintenance', 'acl', 'tokens', 'operator', 'self-preservation', 'policy', 'web', 'w1', '..', '.', '%2e%2e', '%00', '%ZZ', '*'),
  fc.stringMatching(/^[A-Za-z0-9._~%-]{0,80}$/),
  fc.string({ unit: 'binary', maxLength: 20 }).map(encodeURIComponent),
);

const path = fc
  .tuple(fc.constantFrom('/v1/services', '/v1/services/web/instances', '/v1/services/web/policy', '/v1/acl/tokens', '/v1/operator', '', '/healthz'), fc.array(segment, { maxLength: 6 }))
  .map(([prefix, rest]) => `${prefix}/${rest.join('/')}`.replace(/\/+$/, '') || '/');

const query = fc.oneof(
  fc.constant(''),
  fc
    .array(fc.tuple(fc.constantFrom('index', 'wait', 'healthy', 'status', 'tag', 'x', '__proto__'), fc.string({ maxLength: 30 })), { maxLength: 4 })
    // An index the registry has not reached yet is a valid blocking query, which would hold the
    // run for its whole wait: such values are made invalid (any other garbage stays as drawn).
    .map((pairs) => pairs.map(([k, v]) => [k, k === 'index' && /^\s*\+?\d/.test(v) ? `x${v}` : v] as const))
    .map((pairs) => `?${pairs.map(([k, v]) => `${k}=${encodeURIComponent(v)}`).join('&')}`),
);

const headers = fc.record(
  {
    'content-type': fc.constantFrom('application/json', 'application/json; charset=utf-8', 'text/plain', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x', '', 'application/json; charset=latin1'),
    authorization: fc.oneof(fc.constant(`Bearer ${BOOTSTRAP}`), fc.string({ maxLength: 40 }).map((s) => `Bearer ${s.replace(/[^\x21-\x7e]/g, '')}`), fc.constant('Basic Zm9vOmJhcg==')),
    'x-beacon-token': fc.stringMatching(/^[\x21-\x7e]{0,40}$/),
    'x-random': fc.stringMatching(/^[\x20-\x7e]{0,100}$/),
  },
  { requiredKeys: [] },
);

const body = fc.oneof(
  fc.constant(undefined),
  fc.json({ maxDepth: 4 }),
  fc.record({ address: fc.oneof(fc.ipV4(), fc.ipV6(), fc.string()), port: fc.oneof(fc.integer(), fc.double(), fc.string()), ttl: fc.anything(), tags: fc.anything(), meta: fc.anything() }, { requiredKeys: [] }).map((value) => JSON.stringify(value)),
  fc.record({ kind: fc.constantFrom('management', 'service', 'read', 'root'), services: fc.anything(), description: fc.anything() }, { requiredKeys: [] }).map((value) => JSON.stringify(value)),
  fc
    .record(
      {
        balancing: fc.oneof(fc.constantFrom('ring-hash', 'random', 'least-request'), fc.anything()),
        hashOn: fc.oneof(fc.record({ header: fc.string() }), fc.record({ cookie: fc.string() }), fc.anything()),
        timeout: fc.oneof(fc.constantFrom('15s', '0ms', '25h', '1h'), fc.string()),
        retries: fc.record({ count: fc.anything(), on: fc.anything(), budgetPercent: fc.anything(), backoff: fc.anything() }, { requiredKeys: [] }),
        split: fc.array(fc.record({ tag: fc.oneof(fc.constantFrom('v1', 'v2'), fc.string()), weight: fc.oneof(fc.integer(), fc.double()) }), { maxLength: 20 }),
        failover: fc.anything(),
      },
      { requiredKeys: [] },
    )
    .map((value) => JSON.stringify(value)),
  fc.string({ unit: 'binary', maxLength: 200 }),
  fc.constantFrom('{"__proto__": {"admin": true}}', '{"constructor": {"prototype": {}}}', '[', '{"a":', 'null', '1e999', '"\\ud800"'),
);

const request = fc.record({ method: fc.constantFrom('GET', 'PUT', 'POST', 'DELETE', 'PATCH', 'HEAD', 'OPTIONS'), path, query, headers, body });

async function fuzz(app: FastifyInstance): Promise<number> {
  let sent = 0;
  await fc.assert(
    fc.asyncProperty(request, async ({ method, path: url, query: search, headers: sentHeaders, body: payload }) => {
      sent += 1;
      const response = await app.inject({ method: method as 'GET', url: `${url}${search}`, headers: sentHeaders, ...(payload === undefined ? {} : { payload }) });
      assert.ok(response.statusCode < 500, `${method} ${url}${search} answered ${response.statusCode}: ${response.body}`);
      if (response.statusCode >= 400 && method !== 'HEAD') {
        const error = response.json() as { statusCode: number; error: string; message: string };
        assert.equal(error.statusCode, response.statusCode);
        assert.equal(typeof error.message, 'string');
      }
    }),
    { numRuns: RUNS },
  );
  return sent;
}

/** After the fuzzing: the app still registers and lists instances as usual. */
async function stillWorks(app: FastifyInstance, headers: Record<string, string> = {}): Promise<void> {
  const registered = await app.inject({ method: 'PUT', url: '/v1/services/after-fuzz/instances/ok', headers, payload: { address: '10.9.9.9', port: 80 } });
  assert.ok([200, 201].includes(registered.statusCode), registered.body);
  const listed = await app.inject({ method: 'GET', url: '/v1/services/after-fuzz/instances', headers });
  assert.deepEqual((listed.json() as { id: string }[]).map((instance) => instance.id), ['ok']);
}

describe('HTTP API under fuzzing (fast-check)', () => {
  const apps: FastifyInstance[] = [];
  let open: FastifyInstance;
  let guarded: FastifyInstance;

  before(async () => {
    const build = async (acl: boolean) => {
      const store = new SqliteStore({ path: ':memory:' });
      const clock = new ManualClock();
      const app = await buildApp({
        registry: new Registry({ store, clock }),
        metrics: new Metrics(),
        ...(acl ? { acl: await Acl.open(store, clock, BOOTSTRAP) } : {}),
        logLevel: false,
      });
      apps.push(app);
      return app;
    };
    open = await build(false);
    guarded = await build(true);
  });
  after(() => Promise.all(apps.map((app) => app.close())));

  it(`answers ${RUNS} random requests without a 5xx, with ACL off`, async (t) => {
    const sent = await fuzz(open);

    t.diagnostic(`${sent} requests`);
    await stillWorks(open);
  });

  it(`answers ${RUNS} random requests without a 5xx, with ACL on`, async (t) => {
    const sent = await fuzz(guarded);

    t.diagnostic(`${sent} requests`);
    await stillWorks(guarded, { authorization: `Bearer ${BOOTSTRAP}` });
  });
});
