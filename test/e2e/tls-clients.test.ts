import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { Agent as HttpsAgent } from 'node:https';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import Consul from 'consul';
import type { RegistryClientError } from '../../clients/registry/errors.js';
import { InstanceWatcher } from '../../clients/registry/instance-watcher.js';
import { RegistryApi } from '../../clients/registry/registry-api.js';
import { type CertificateFiles, createThrowawayCa } from '../../clients/tls/openssl-ca.js';
import { readTlsFiles, type TlsMaterial } from '../../clients/tls/tls-files.js';
import { runCli } from '../support/cli.js';
import { nextEvent, waitFor } from '../support/events.js';
import { type Backend, startBackend } from '../support/backends.js';
import { proxyStats, startProxyProcess } from '../support/proxy-process.js';
import { newRegistryClient } from '../support/registry-client.js';
import { type ServerProcess, startServerProcess } from '../support/server-process.js';
import { tempDir } from '../support/temp.js';

/**
 * Every client of the HTTP API against a real `beacon server --tls-cert --tls-key` (and with
 * `--tls-verify-clients`): the CLI, RegistryClient, `beacon proxy`'s registry hop, and the
 * Consul clients (npm consul, Debian's python3-consul), with a throwaway CA made per run.
 */

const DEBIAN_PYTHON = '/usr/bin/python3';
const FLAG_NAMES = { ca: '--tls-ca', cert: '--tls-cert', key: '--tls-key' };

interface Pki {
  ca: string;
  server: CertificateFiles;
  client: CertificateFiles;
  /** A file that is not PEM, for the bad-file case. */
  notPem: string;
}

/** The CA and certificates, made once for the file: openssl takes a few milliseconds a key. */
function suitePki(): () => Pki {
  const dir = tempDir({ after }, 'beacon-tls-clients-');
  let pki: Pki | undefined;
  before(async () => {
    const ca = await createThrowawayCa(`${dir}/ca`);
    const notPem = `${dir}/not-a-certificate.txt`;
    writeFileSync(notPem, 'hello\n');
    pki = {
      ca: ca.caCert,
      server: await ca.issue('registry', { altNames: ['DNS:localhost', 'IP:127.0.0.1'], usage: 'server' }),
      client: await ca.issue('cli', { usage: 'client' }),
      notPem,
    };
  });
  return () => pki!;
}

/** The python-consul script: the catalog's services, read over https with the CA (and a client certificate when given). */
const PYTHON_CATALOG = `
import json, sys, consul
cert = (sys.argv[4], sys.argv[5]) if len(sys.argv) > 5 else None
c = consul.Consul(host='127.0.0.1', port=int(sys.argv[1]), scheme='https', verify=sys.argv[2], cert=cert)
index, nodes = c.health.service(sys.argv[3])
print(json.dumps({"index": index, "ids": [n["Service"]["ID"] for n in nodes]}), flush=True)
`;

async function pythonConsul(port: string, ca: string, service: string, client?: CertificateFiles): Promise<{ index: string; ids: string[] }> {
  const args = ['-c', PYTHON_CATALOG, port, ca, service, ...(client ? [client.cert, client.key] : [])];
  const { stdout } = await promisify(execFile)(DEBIAN_PYTHON, args, { timeout: 15_000 });
  return JSON.parse(stdout) as { index: string; ids: string[] };
}

describe('clients of a registry serving https (--tls-cert, --tls-key)', () => {
  const pki = suitePki();
  let server: ServerProcess;
  let tls: TlsMaterial;
  let api: RegistryApi;

  before(async () => {
    server = await startServerProcess(['--db', ':memory:', '--tls-cert', pki().server.cert, '--tls-key', pki().server.key, '--log-level', 'info']);
    tls = readTlsFiles({ ca: pki().ca }, FLAG_NAMES);
    api = new RegistryApi({ registry: server.url, requestTimeoutMs: 5_000, tls });
  });
  after(async () => {
    await api?.close();
    await server?.stop();
  });

  it('serves https (the URL its log line gives)', () => {
    assert.match(server.url, /^https:\/\/127\.0\.0\.1:\d+$/);
  });

  it('the CLI registers, lists and resolves with --tls-ca', async () => {
    const tlsFlags = ['--registry', server.url, '--tls-ca', pki().ca];

    const registered = await runCli(['register', 'cli-web', 'c1', '--address', '127.0.0.7', '--port', '9100', '--ttl', '300', ...tlsFlags]);
    const listed = await runCli(['instances', 'cli-web', '--json', ...tlsFlags]);
    const services = await runCli(['services', '--json', ...tlsFlags]);
    const resolved = await runCli(['resolve', 'cli-web', '--dns', `127.0.0.1:${server.dnsPort}`, '--json']);

    assert.equal(registered.code, 0, registered.stderr);
    assert.deepEqual(JSON.parse(listed.stdout).map((instance: { id: string; address: string }) => [instance.id, instance.address]), [['c1', '127.0.0.7']]);
    assert.ok(JSON.parse(services.stdout).some((service: { name: string }) => service.name === 'cli-web'), services.stdout);
    assert.deepEqual(JSON.parse(resolved.stdout).map((target: { port: number }) => target.port), [9100]);
  });

  it('BEACON_REGISTRY_CA stands for --tls-ca; BEACON_TLS_CA, the server\'s own variable, is not read', async () => {
    const withRegistryCa = await runCli(['services', '--registry', server.url], { BEACON_REGISTRY_CA: pki().ca });
    const withServerCa = await runCli(['services', '--registry', server.url], { BEACON_TLS_CA: pki().ca });

    assert.equal(withRegistryCa.code, 0, withRegistryCa.stderr);
    assert.equal(withServerCa.code, 2, withServerCa.stderr);
  });

  it('without --tls-ca: exit 2 and one line naming the cause and the flag', async () => {
    const result = await runCli(['services', '--registry', server.url]);

    assert.equal(result.code, 2);
    assert.equal(result.stdout, '');
    assert.equal(
      result.stderr,
      `beacon services: registry ${server.url} (GET /v1/services): the registry's certificate is not trusted (UNABLE_TO_VERIFY_LEAF_SIGNATURE): pass --tls-ca FILE (or BEACON_REGISTRY_CA) with the CA that signed it\n`,
    );
  });

  it('a --tls-ca that is not PEM: exit 2, one line naming the flag and the file, nothing sent', async () => {
    const result = await runCli(['services', '--registry', server.url, '--tls-ca', pki().notPem]);

    assert.equal(result.code, 2);
    assert.match(result.stderr, new RegExp(`^beacon services: --tls-ca ${pki().notPem}: not a PEM file \\(no -----BEGIN line\\)\\nusage: `));
  });

  it('http:// to it: exit 2, use an https:// --registry', async () => {
    const result = await runCli(['services', '--registry', server.url.replace('https:', 'http:')]);

    assert.equal(result.code, 2);
    assert.match(result.stderr, /the registry speaks TLS on this port: use an https:\/\/ --registry\n$/);
  });

  it('RegistryClient registers and heartbeats over https, and deregisters on close', async (t) => {
    const client = newRegistryClient(server.url, 'hb-1', { tls });
    t.after(() => client.close());
    const heartbeat = nextEvent(client, 'heartbeat');

    await client.start();
    await heartbeat;
    const { instances } = await api.instances('web');
    await client.close();
    const afterClose = await api.instances('web');

    assert.deepEqual(instances.map((instance) => [instance.id, instance.status]), [['hb-1', 'passing']]);
    assert.deepEqual(afterClose.instances, []);
  });

  it('without the CA, RegistryClient.start() rejects with code tls (as for a bad token) and an InstanceWatcher reports it and keeps trying', async (t) => {
    const client = newRegistryClient(server.url, 'no-ca');
    const watcher = new InstanceWatcher({ registry: server.url, service: 'web', backoff: { baseMs: 50, maxMs: 50, jitter: 0 } });
    t.after(() => Promise.all([client.close(), watcher.close()]));
    const reported = nextEvent(watcher, 'unreachable');

    const rejection = await client.start().then(
      () => assert.fail('start() resolved'),
      (error: RegistryClientError) => error,
    );
    watcher.start();
    const [watchError] = (await reported) as [RegistryClientError];
    // The watcher's loop does not stop on it: a CA fixed by an operator is picked up on the next try.
    await nextEvent(watcher, 'unreachable');

    assert.deepEqual([rejection.code, rejection.remedy], ['tls', 'ca']);
    assert.deepEqual([watchError.code, watchError.remedy], ['tls', 'ca']);
  });

  it('beacon proxy --registry https://… --tls-ca follows the instances over https', async (t) => {
    const backends: Backend[] = [await startBackend('tls-b1'), await startBackend('tls-b2')];
    t.after(() => Promise.all(backends.map((backend) => backend.kill())));
    await api.register('tls-proxied', 'b1', { address: '127.0.0.1', port: backends[0]!.port, ttl: 300 });
    const proxy = await startProxyProcess(['--service', 'tls-proxied', '--registry', server.url, '--tls-ca', pki().ca]);
    t.after(() => proxy.stop());

    await waitFor(async () => (await proxyStats(proxy.ready.adminUrl)).instances.length === 1, { what: 'the proxy to know b1' });
    const first = (await (await fetch(`${proxy.ready.url}/`)).json()) as { backend: string };
    // Learnt through the blocking query the proxy keeps open over https.
    await api.register('tls-proxied', 'b2', { address: '127.0.0.1', port: backends[1]!.port, ttl: 300 });
    const stats = await waitFor(
      async () => {
        const current = await proxyStats(proxy.ready.adminUrl);
        return current.instances.length === 2 && current;
      },
      { what: () => `the proxy to know b1 and b2:\n${proxy.output()}` },
    );

    assert.equal(first.backend, 'tls-b1');
    assert.equal(stats.registry.reachable, true);
    assert.deepEqual(stats.instances.map((instance) => instance.id).sort(), ['b1', 'b2']);
  });

  it('beacon proxy without --tls-ca logs the cause and the flag to pass', async (t) => {
    const proxy = await startProxyProcess(['--service', 'tls-proxied', '--registry', server.url]);
    t.after(() => proxy.stop());

    const line = await waitFor(() => proxy.output().split('\n').find((entry) => entry.includes('UNABLE_TO_VERIFY_LEAF_SIGNATURE')), { what: () => `a TLS warning in:\n${proxy.output()}` });

    assert.match(line, /the registry's certificate is not trusted \(UNABLE_TO_VERIFY_LEAF_SIGNATURE\): pass --tls-ca FILE/);
  });

  it('the npm consul client reads the Consul-compatible routes over https (secure, an https.Agent with the CA)', async () => {
    await api.register('npm-tls', 'n1', { address: '127.0.0.8', port: 9200, tags: ['tls'], ttl: 300 });
    const { port } = new URL(server.url);
    const consul = new Consul({ host: '127.0.0.1', port: Number(port), secure: true, agent: new HttpsAgent({ ca: readFileSync(pki().ca) }) } as any);

    const services = (await consul.catalog.service.list()) as Record<string, string[]>;
    const entries = (await consul.health.service('npm-tls')) as any[];

    assert.deepEqual(services['npm-tls'], ['tls']);
    assert.deepEqual(entries.map((entry) => [entry.Service.ID, entry.Service.Port]), [['n1', 9200]]);
  });

  it("python-consul reads them over https with verify=CA (Debian's python3-consul)", async () => {
    await api.register('py-tls', 'p1', { address: '127.0.0.9', port: 9300, ttl: 300 });

    const answer = await pythonConsul(new URL(server.url).port, pki().ca, 'py-tls');

    assert.deepEqual(answer.ids, ['p1']);
    assert.ok(Number(answer.index) > 0);
  });
});

describe('clients of a registry that checks client certificates (--tls-verify-clients)', () => {
  const pki = suitePki();
  let server: ServerProcess;
  let api: RegistryApi;

  before(async () => {
    server = await startServerProcess([
      '--db', ':memory:', '--tls-cert', pki().server.cert, '--tls-key', pki().server.key, '--tls-ca', pki().ca, '--tls-verify-clients', '--log-level', 'info',
    ]);
    const tls = readTlsFiles({ ca: pki().ca, cert: pki().client.cert, key: pki().client.key }, FLAG_NAMES);
    api = new RegistryApi({ registry: server.url, requestTimeoutMs: 5_000, tls });
  });
  after(async () => {
    await api?.close();
    await server?.stop();
  });

  it('the CLI with --tls-cert and --tls-key registers and lists', async () => {
    const tlsFlags = ['--registry', server.url, '--tls-ca', pki().ca, '--tls-cert', pki().client.cert, '--tls-key', pki().client.key];

    const registered = await runCli(['register', 'mtls-web', 'm1', '--address', '127.0.0.10', '--port', '9400', '--ttl', '300', ...tlsFlags]);
    const listed = await runCli(['instances', 'mtls-web', '--json', ...tlsFlags]);

    assert.equal(registered.code, 0, registered.stderr);
    assert.deepEqual(JSON.parse(listed.stdout).map((instance: { id: string }) => instance.id), ['m1']);
  });

  it('the CLI without a client certificate: exit 2, one line asking for --tls-cert and --tls-key', async () => {
    const result = await runCli(['services', '--registry', server.url, '--tls-ca', pki().ca]);

    assert.equal(result.code, 2);
    assert.match(result.stderr, /^beacon services: registry https:\/\/127\.0\.0\.1:\d+ \(GET \/v1\/services\): .*asks for a client certificate.*: pass --tls-cert FILE --tls-key FILE \(or BEACON_REGISTRY_CERT, BEACON_REGISTRY_KEY\)[^\n]*\n$/);
  });

  it('--tls-cert without --tls-key: exit 2 before anything is sent', async () => {
    const result = await runCli(['services', '--registry', server.url, '--tls-ca', pki().ca, '--tls-cert', pki().client.cert]);

    assert.equal(result.code, 2);
    assert.match(result.stderr, /^beacon services: --tls-cert needs --tls-key \(the certificate's private key\)\n/);
  });

  it('python-consul with cert=(crt, key) reads the health of a service', async () => {
    await api.register('py-mtls', 'q1', { address: '127.0.0.11', port: 9500, ttl: 300 });

    const answer = await pythonConsul(new URL(server.url).port, pki().ca, 'py-mtls', pki().client);

    assert.deepEqual(answer.ids, ['q1']);
  });
});
