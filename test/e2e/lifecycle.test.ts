import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import Database from 'better-sqlite3';
import { migrationsDir } from '../../server/paths.js';
import { readMigrations } from '../../server/store/sqlite/migrate.js';
import { waitFor, within } from '../support/events.js';
import { client } from '../support/http.js';
import { blockedQueriesReach } from '../support/metrics.js';
import { runServerExpectingExit, startServerProcess } from '../support/server-process.js';
import { tempDir } from '../support/temp.js';

describe('server lifecycle', () => {
  for (const [args, env, message] of [
    [['--http-port', 'abc'], {}, /^beacon server: --http-port must be an integer 0-65535, got "abc"/],
    [['--http-port', '70000'], {}, /--http-port must be an integer 0-65535, got "70000"/],
    [['--bind', 'localhost'], {}, /--bind must be an IPv4 or IPv6 address, got "localhost"/],
    [['--domain', 'bad_domain!'], {}, /--domain must be a DNS name/],
    [['--dns-udp-max', '100'], {}, /--dns-udp-max must be an integer 512-65535/],
    [['--log-level', 'loud'], {}, /--log-level must be one of/],
    [['--nope'], {}, /Unknown option '--nope'/],
    [[], { BEACON_HTTP_PORT: 'x' }, /--http-port must be an integer 0-65535, got "x" \(from BEACON_HTTP_PORT\)/],
  ] as const) {
    test(`exits 2 with one line for ${args.join(' ') || JSON.stringify(env)}`, async () => {
      const { code, stderr } = await runServerExpectingExit([...args], { ...env });
      assert.equal(code, 2);
      assert.match(stderr, message);
      assert.equal(stderr.trim().split('\n').length, 1, stderr);
    });
  }

  test('a flag wins over its environment variable', async (t) => {
    const server = await startServerProcess(['--db', join(tempDir(t), 'b.db')], { BEACON_HTTP_PORT: 'nonsense' });
    t.after(() => server.stop());
    assert.equal((await fetch(`${server.url}/healthz`)).status, 200);
  });

  test('exits 1 with one line when the port is taken', async (t) => {
    const blocker = createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    t.after(() => blocker.close());
    const port = (blocker.address() as { port: number }).port;
    const { code, stderr } = await runServerExpectingExit(['--http-port', String(port), '--db', join(tempDir(t), 'b.db')]);
    assert.equal(code, 1);
    assert.equal(stderr.trim(), `beacon server: cannot listen for HTTP on 127.0.0.1:${port}: address already in use`);
  });

  test('exits 1 with one line when the DNS port is taken', async (t) => {
    const blocker = createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    t.after(() => blocker.close());
    const port = (blocker.address() as { port: number }).port;
    const { code, stderr } = await runServerExpectingExit(['--http-port', '0', '--dns-port', String(port), '--db', join(tempDir(t), 'b.db')]);
    assert.equal(code, 1);
    assert.equal(stderr.trim(), `beacon server: cannot listen for DNS (TCP) on 127.0.0.1:${port}: address already in use`);
  });

  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    test(`${signal} answers blocked queries, writes heartbeat times, closes the database and exits 0`, async (t) => {
      const db = join(tempDir(t), 'b.db');
      const server = await startServerProcess(['--db', db]);
      const api = client(server.url);
      const registered = await api.register('web', 'w1');
      // A plain heartbeat on a later millisecond than the registration: its time is not on disk yet.
      const beat = await waitFor(
        async () => {
          const answer = await api.heartbeat('web', 'w1');
          return answer.body.lastHeartbeatAt !== registered.body.lastHeartbeatAt && answer;
        },
        { what: 'a heartbeat on a later millisecond than the registration' },
      );
      const index = Number((await api.instances('web')).headers.get('x-beacon-index'));
      const blocked = api.instances('web', `?index=${index}&wait=60s`);
      await blockedQueriesReach(server.url, 1);

      const stopped = server.stop(signal);
      // Far below the query's 60 s wait: the shutdown answered it.
      assert.equal((await within(blocked, 10_000, `the blocked query after ${signal}`)).status, 200, 'the blocked query was answered, not cut');
      assert.equal(await within(stopped, 15_000, `the exit after ${signal}`), 0);
      assert.match(server.output(), /"msg":"stopped: listeners closed, heartbeat times written, database closed"/);

      const check = new Database(db, { readonly: true });
      t.after(() => check.close());
      const row = check.prepare('SELECT last_heartbeat_at FROM instances WHERE id = ?').get('w1') as { last_heartbeat_at: number };
      assert.equal(row.last_heartbeat_at, Date.parse(beat.body.lastHeartbeatAt), 'the plain heartbeat was persisted at shutdown');
      assert.equal(check.pragma('integrity_check', { simple: true }), 'ok');
    });
  }

  test('logs one line per listener and serves health, readiness, metrics and docs', async (t) => {
    const server = await startServerProcess(['--db', join(tempDir(t), 'b.db')]);
    t.after(() => server.stop());
    assert.deepEqual(
      server.output().match(/(HTTP API|DNS) listening on \w+:\/\/[\d.]+:\d+/g)?.map((line) => line.replace(/:\d+$/, '')),
      ['HTTP API listening on http://127.0.0.1', 'DNS listening on udp://127.0.0.1', 'DNS listening on tcp://127.0.0.1'],
    );
    assert.deepEqual(await (await fetch(`${server.url}/healthz`)).json(), { status: 'ok' });
    assert.deepEqual(await (await fetch(`${server.url}/readyz`)).json(), { status: 'ready' });
    const metrics = await (await fetch(`${server.url}/metrics`)).text();
    for (const name of ['beacon_http_requests_total', 'beacon_http_request_duration_seconds', 'beacon_instances', 'beacon_heartbeats_total', 'beacon_expirations_total', 'beacon_blocking_queries']) {
      assert.match(metrics, new RegExp(`^# TYPE ${name} `, 'm'));
    }
    const docs = await fetch(`${server.url}/docs/`);
    assert.equal(docs.status, 200);
    assert.match(await docs.text(), /swagger-ui/i);
  });

  test('creates the database folder and reports the schema version it migrated to', async (t) => {
    const db = join(tempDir(t), 'nested', 'deeper', 'beacon.db');
    const server = await startServerProcess(['--db', db]);
    await server.stop();
    const check = new Database(db, { readonly: true });
    t.after(() => check.close());
    assert.deepEqual(
      check.prepare('SELECT version FROM schema_migrations ORDER BY version').all(),
      readMigrations(migrationsDir).map(({ version }) => ({ version })),
    );
  });
});
