import assert from 'node:assert/strict';
import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
import { Resolver } from 'node:dns/promises';
import { once } from 'node:events';
import { existsSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { connect as tlsConnect } from 'node:tls';
import { Agent, request } from 'undici';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { READY_LINE } from '../../clients/demo/tour.js';
import type { RegistryClientError } from '../../clients/registry/errors.js';
import { RegistryApi } from '../../clients/registry/registry-api.js';
import { readTlsFiles } from '../../clients/tls/tls-files.js';
import { nextEvent } from '../support/events.js';
import { freePort, freePortRun, isFree } from '../support/ports.js';

const runDemo = fileURLToPath(new URL('../../clients/demo/run-demo.js', import.meta.url));
const START_TIMEOUT_MS = 25_000;
const STOP_TIMEOUT_MS = 10_000;

interface DemoPorts {
  http: number;
  dns: number;
  proxy: number;
  admin: number;
  /** web-1; web-2 and web-3 are the next two. */
  base: number;
}

interface DemoRun {
  child: ChildProcessWithoutNullStreams;
  /** Everything it printed so far, stdout and stderr. */
  output(): string;
}

/** Free loopback ports for every listener of the demo, all different. */
async function demoPorts(): Promise<DemoPorts> {
  const base = await freePortRun(3);
  const taken = new Set([base, base + 1, base + 2]);
  const others: number[] = [];
  while (others.length < 4) {
    // freePort() may hand out a port twice once it is closed again.
    const port = await freePort();
    if (taken.has(port)) continue;
    taken.add(port);
    others.push(port);
  }
  const [http, dns, proxy, admin] = others as [number, number, number, number];
  return { http, dns, proxy, admin, base };
}

/** `node dist/clients/demo/run-demo.js` on those ports, as `npm run demo` runs it (minus the build). */
function runDemoOn(ports: DemoPorts, extra: string[] = []): DemoRun {
  const flags = { 'http-port': ports.http, 'dns-port': ports.dns, 'proxy-port': ports.proxy, 'admin-port': ports.admin, 'base-port': ports.base, 'log-level': 'warn' };
  const args = [...Object.entries(flags).flatMap(([flag, value]) => [`--${flag}`, String(value)]), ...extra];
  const child = spawn(process.execPath, [runDemo, ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk));
  return { child, output: () => output };
}

/** Resolves once the whole tour is printed (it ends with the Ctrl-C line); rejects if the demo exits first or takes too long. */
function untilReady(demo: DemoRun): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`the demo was not ready within ${START_TIMEOUT_MS / 1000} s:\n${demo.output()}`)), START_TIMEOUT_MS);
    const check = () => {
      if (!demo.output().includes(READY_LINE) || !demo.output().includes('Ctrl-C stops everything')) return;
      clearTimeout(timer);
      demo.child.stdout.off('data', check);
      resolve();
    };
    demo.child.stdout.on('data', check);
    demo.child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`the demo exited with ${code} before it was ready:\n${demo.output()}`));
    });
  });
}

/** Stops a demo a test left running, and any of its processes that outlived it. */
async function stopDemo(demo: DemoRun | undefined, pids: number[]): Promise<void> {
  const { child } = demo ?? {};
  if (child && child.exitCode === null && child.signalCode === null) {
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), STOP_TIMEOUT_MS);
    await once(child, 'exit');
    clearTimeout(timer);
  }
  for (const pid of pids.filter(alive)) process.kill(pid, 'SIGKILL');
}

/** The ports among these that something still listens on. */
async function stillTaken(ports: number[]): Promise<number[]> {
  const free = await Promise.all(ports.map(isFree));
  return ports.filter((_port, i) => !free[i]);
}

/** Whether the process is still there and (where /proc tells) still a `beacon` command, not a reused pid. */
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
  if (!existsSync('/proc')) return true;
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('bin/beacon.js');
  } catch {
    return false; // it exited meanwhile
  }
}

// The two runs are separate processes on their own ports: side by side, they take the time of the longer one.
describe('npm run demo', { concurrency: true }, () => {
  describe('a registry, three instances of web and a proxy, as real processes', { concurrency: 1 }, () => {
    let ports: DemoPorts;
    let demo: DemoRun;
    /** The processes' pids, from the tour: should the demo itself fail, the test still leaves none behind. */
    let pids: number[] = [];

    before(async () => {
      ports = await demoPorts();
      demo = runDemoOn(ports);
      // The tour ends with the Ctrl-C line: wait for all of it, pids included.
      await untilReady(demo);
      pids = [...demo.output().matchAll(/\(pid (\d+)\)/g)].map((match) => Number(match[1]));
    });

    after(() => stopDemo(demo, pids));

    it('lists its five processes in the tour', () => {
      assert.equal(pids.length, 5, demo.output());
    });

    it('answers an SRV query for web.service.beacon.internal over UDP with the three instances and their weights', async () => {
      const resolver = new Resolver({ timeout: 2_000, tries: 2 });
      resolver.setServers([`127.0.0.1:${ports.dns}`]);

      const records = await resolver.resolveSrv('web.service.beacon.internal');

      const weightByPort = Object.fromEntries(records.map((record) => [record.port, record.weight]));
      assert.deepEqual(weightByPort, { [ports.base]: 1, [ports.base + 1]: 2, [ports.base + 2]: 3 });
    });

    it('proxies 30 requests, all 200, over the three instances by their weights 1:2:3', async () => {
      const served: Record<string, number> = {};
      for (let i = 0; i < 30; i++) {
        const response = await fetch(`http://127.0.0.1:${ports.proxy}/`);
        assert.equal(response.status, 200);
        const { instance } = (await response.json()) as { instance: string };
        served[instance] = (served[instance] ?? 0) + 1;
      }

      // Smooth weighted round-robin repeats every 6 picks with each weight's share: 30 picks are five rounds.
      assert.deepEqual(served, { 'web-1': 5, 'web-2': 10, 'web-3': 15 });
    });

    it('has the three instances passing in the registry', async () => {
      const response = await fetch(`http://127.0.0.1:${ports.http}/v1/services/web/instances?status=passing`);
      const instances = (await response.json()) as { id: string; port: number; status: string }[];

      assert.deepEqual(
        instances.map(({ id, port, status }) => ({ id, port, status })),
        [
          { id: 'web-1', port: ports.base, status: 'passing' },
          { id: 'web-2', port: ports.base + 1, status: 'passing' },
          { id: 'web-3', port: ports.base + 2, status: 'passing' },
        ],
      );
    });

    it("serves the registry's dashboard at /ui", async () => {
      const response = await fetch(`http://127.0.0.1:${ports.http}/ui`);
      const body = await response.text();

      assert.equal(response.status, 200);
      assert.match(response.headers.get('content-type') ?? '', /^text\/html/);
      assert.match(body, /<html/i);
    });

    it('stops every process on SIGTERM, none killed for being slow, and exits 0, leaving their ports free', async () => {
      // The demo gives each of its five processes 5 s after SIGTERM: this bound only ends a hang.
      const exited = nextEvent(demo.child, 'exit', 30_000);
      demo.child.kill('SIGTERM');
      const [code] = (await exited) as [number | null];

      // Exit 0 and "stopped", not "stopped, not cleanly": no process outlived its stop deadline.
      assert.equal(code, 0, demo.output());
      assert.deepEqual(pids.filter(alive), [], 'no process of the demo is left');
      assert.deepEqual(await stillTaken([ports.http, ports.dns, ports.proxy, ports.admin, ports.base, ports.base + 1, ports.base + 2]), []);
      assert.match(demo.output(), /^demo\s+│ stopped$/m);
    });
  });

  describe('--tls: the same processes, every hop over https with a throwaway CA', { concurrency: 1 }, () => {
    let ports: DemoPorts;
    let demo: DemoRun;
    let pids: number[] = [];
    /** The CA the tour tells curl to trust. */
    let caCert: string;

    before(async () => {
      ports = await demoPorts();
      demo = runDemoOn(ports, ['--tls']);
      await untilReady(demo);
      pids = [...demo.output().matchAll(/\(pid (\d+)\)/g)].map((match) => Number(match[1]));
      caCert = /curl --cacert (\S+) /.exec(demo.output())?.[1] ?? assert.fail(`no curl --cacert in the tour:\n${demo.output()}`);
    });

    after(() => stopDemo(demo, pids));

    it('prints https URLs, curl commands with --cacert and the CLI with BEACON_REGISTRY_CA', () => {
      const registry = `https://127.0.0.1:${ports.http}`;

      assert.ok(demo.output().includes(`${READY_LINE}: registry ${registry}, `), demo.output());
      assert.ok(demo.output().includes(`curl --cacert ${caCert} -s ${registry}/v1/services`), demo.output());
      assert.ok(demo.output().includes(`export BEACON_REGISTRY=${registry} BEACON_REGISTRY_CA=${caCert}`), demo.output());
    });

    it("answers over https a client that trusts the demo's CA, with the three instances passing; without the CA the handshake fails", async (t) => {
      const trusting = new RegistryApi({ registry: `https://127.0.0.1:${ports.http}`, requestTimeoutMs: 5_000, tls: readTlsFiles({ ca: caCert }, { ca: 'ca', cert: 'cert', key: 'key' }) });
      const untrusting = new RegistryApi({ registry: `https://127.0.0.1:${ports.http}`, requestTimeoutMs: 5_000 });
      t.after(() => Promise.all([trusting.close(), untrusting.close()]));

      const { instances } = await trusting.instances('web');
      const refused = await untrusting.services().then(
        () => undefined,
        (error: RegistryClientError) => error.code,
      );

      assert.deepEqual(instances.map(({ id, status }) => [id, status]), [['web-1', 'passing'], ['web-2', 'passing'], ['web-3', 'passing']]);
      assert.equal(refused, 'tls');
    });

    it('proxies 6 requests by the weights 1:2:3 over https on both hops; without the CA the proxy refuses the handshake', async (t) => {
      const trusting = new Agent({ connect: { ca: readFileSync(caCert) } });
      t.after(() => trusting.close());
      const served: Record<string, number> = {};
      for (let i = 0; i < 6; i++) {
        const response = await request(`https://127.0.0.1:${ports.proxy}/`, { dispatcher: trusting });
        const { instance, port } = (await response.body.json()) as { instance: string; port: number };
        served[instance] = (served[instance] ?? 0) + 1;
        assert.equal(await tlsHandshakeCode(port, caCert), 'ok', `instance ${instance} serves https with the demo's certificate`);
      }
      const untrusted = await request(`https://127.0.0.1:${ports.proxy}/`).then(
        () => 'answered',
        (error: NodeJS.ErrnoException) => error.code,
      );

      assert.deepEqual(served, { 'web-1': 1, 'web-2': 2, 'web-3': 3 });
      assert.equal(untrusted, 'UNABLE_TO_VERIFY_LEAF_SIGNATURE');
      assert.ok(demo.output().includes(`${READY_LINE}: registry https://127.0.0.1:${ports.http}, DNS 127.0.0.1:${ports.dns}, proxy https://127.0.0.1:${ports.proxy}`), demo.output());
    });

    it('stops on SIGTERM, exits 0 and removes its certificates and keys', async () => {
      const exited = nextEvent(demo.child, 'exit', 30_000);
      demo.child.kill('SIGTERM');
      const [code] = (await exited) as [number | null];

      assert.equal(code, 0, demo.output());
      assert.deepEqual(pids.filter(alive), []);
      assert.equal(existsSync(dirname(dirname(caCert))), false, `${dirname(dirname(caCert))} is left`);
    });
  });

  describe('when a process cannot start', { concurrency: 1 }, () => {
    it('names the process and its reason, stops the others and exits 1', async (t) => {
      const ports = await demoPorts();
      const squatter = createServer().listen(ports.base + 1, '127.0.0.1');
      await once(squatter, 'listening');
      t.after(() => squatter.close());

      const demo = runDemoOn(ports);
      const timer = setTimeout(() => demo.child.kill('SIGTERM'), START_TIMEOUT_MS);
      const [code] = (await once(demo.child, 'exit')) as [number | null];
      clearTimeout(timer);

      assert.equal(code, 1, demo.output());
      assert.match(demo.output(), /could not start: web-2 exited with code 1; last output: .*127\.0\.0\.1:\d+: address already in use/);
      assert.deepEqual(await stillTaken([ports.http, ports.dns, ports.proxy, ports.admin, ports.base, ports.base + 2]), [], demo.output());
    });
  });
});

/** 'ok' when 127.0.0.1:`port` completes a TLS handshake verified by `caCert`, else the error's code. */
async function tlsHandshakeCode(port: number, caCert: string): Promise<string> {
  const socket = tlsConnect({ host: '127.0.0.1', port, ca: readFileSync(caCert) });
  try {
    await once(socket, 'secureConnect');
    return 'ok';
  } catch (error) {
    return (error as NodeJS.ErrnoException).code ?? 'error';
  } finally {
    socket.destroy();
  }
}
