import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';

const root = fileURLToPath(new URL('../../../', import.meta.url));

interface ComposeService {
  image?: string;
  build?: unknown;
  command?: string[];
  ports?: (string | { published: number | string; target: number; protocol?: string })[];
  volumes?: string[];
  depends_on?: Record<string, { condition: string }>;
  healthcheck?: { test: string[] };
  profiles?: string[];
  hostname?: string;
}

/**
 * The compose file as docker-compose itself resolves it (anchors merged, paths absolute). No
 * Docker engine runs here, so this is as far as a test can take it (.ci/run installs docker-compose).
 */
function composeConfig(): { services: Record<string, ComposeService>; volumes: Record<string, unknown> } {
  return parse(execFileSync('docker-compose', ['config'], { cwd: root, encoding: 'utf8' }));
}

/** The value after `flag` in a command. */
function flag(command: string[] | undefined, name: string): string | undefined {
  const at = command?.indexOf(name) ?? -1;
  return at === -1 ? undefined : command![at + 1];
}

describe('docker-compose.yml: the demo topology', () => {
  const { services: all, volumes } = composeConfig();
  const services = Object.fromEntries(Object.entries(all).filter(([, service]) => !service.profiles));

  it('has beacon, three instances of web, the proxy and prometheus', () => {
    assert.deepEqual(Object.keys(services).sort(), ['beacon', 'prometheus', 'proxy', 'web-1', 'web-2', 'web-3']);
  });

  it('runs beacon server on all interfaces with a persistent volume, HTTP 8500 and DNS 8600 over UDP and TCP, and a health check', () => {
    const beacon = services.beacon!;
    assert.equal(beacon.command?.[0], 'server');
    assert.equal(flag(beacon.command, '--bind'), '0.0.0.0');
    assert.ok(beacon.volumes?.some((volume) => volume.startsWith('beacon-data:/data')));
    assert.ok('beacon-data' in volumes);
    const published = (beacon.ports ?? []).map((port) => (typeof port === 'string' ? port : `${port.published}:${port.target}/${port.protocol ?? 'tcp'}`));
    assert.deepEqual(published.sort(), ['8500:8500/tcp', '8600:8600/tcp', '8600:8600/udp']);
    assert.match(beacon.healthcheck?.test.join(' ') ?? '', /127\.0\.0\.1:8500\/readyz/);
  });

  it('runs every Beacon process from the one image built from this folder', () => {
    for (const name of ['beacon', 'web-1', 'web-2', 'web-3', 'proxy']) {
      assert.equal(services[name]!.image, 'beacon:local', name);
      assert.ok(services[name]!.build, `${name} can be built`);
    }
  });

  for (const [i, name] of ['web-1', 'web-2', 'web-3'].entries()) {
    it(`${name} is a demo service registered with http://beacon:8500 once beacon is healthy, weight ${i + 1}`, () => {
      const web = services[name]!;
      assert.equal(web.command?.[0], 'demo-service');
      assert.equal(flag(web.command, '--registry'), 'http://beacon:8500');
      assert.equal(flag(web.command, '--listen'), '0.0.0.0:9000');
      assert.equal(flag(web.command, '--id'), name);
      assert.equal(flag(web.command, '--weight'), String(i + 1));
      assert.equal(flag(web.command, '--advertise'), undefined, 'the container registers its own IP, found at start');
      assert.deepEqual(web.depends_on, { beacon: { condition: 'service_healthy' } });
      assert.match(web.healthcheck?.test.join(' ') ?? '', /127\.0\.0\.1:9000\/healthz/);
    });
  }

  it('puts the proxy in front of web, following http://beacon:8500, on 8080 with its admin reachable by Prometheus', () => {
    const proxy = services.proxy!;
    assert.equal(proxy.command?.[0], 'proxy');
    assert.equal(flag(proxy.command, '--service'), 'web');
    assert.equal(flag(proxy.command, '--listen'), '0.0.0.0:8080');
    assert.equal(flag(proxy.command, '--registry'), 'http://beacon:8500');
    assert.equal(flag(proxy.command, '--admin'), '0.0.0.0:9901');
    assert.deepEqual(proxy.depends_on, { beacon: { condition: 'service_healthy' } });
    assert.ok(proxy.ports?.some((port) => (typeof port === 'string' ? port.endsWith(':8080') : port.target === 8080)));
  });

  it('mounts the committed Prometheus configuration where prom/prometheus reads it', () => {
    const prometheus = services.prometheus!;
    assert.match(prometheus.image ?? '', /^prom\/prometheus(:|$)/);
    const mount = prometheus.volumes?.find((volume) => volume.includes(':/etc/prometheus/prometheus.yml'));
    assert.ok(mount, 'prometheus.yml is mounted');
    const source = mount.split(':')[0]!;
    assert.equal(relative(root, source), join('deploy', 'prometheus', 'prometheus.yml'));
    assert.ok(existsSync(source));
    assert.deepEqual(prometheus.depends_on, { beacon: { condition: 'service_healthy' } });
  });
});


describe('docker-compose.yml: the cluster profile', () => {
  const { services } = composeConfig();
  const inCluster = Object.entries(services).filter(([, service]) => service.profiles?.includes('cluster')).map(([name]) => name).sort();
  const members = ['etcd-1', 'etcd-2', 'etcd-3'];
  const clientUrls = members.map((name) => `http://${name}:2379`).join(',');

  it('has three etcd members, two Beacon nodes and an instance of api registered through each, all in the profile', () => {
    assert.deepEqual(inCluster, ['api-1', 'api-2', 'beacon-a', 'beacon-b', ...members]);
  });

  it('forms one etcd cluster of the three members, each advertising its own name', () => {
    for (const name of members) {
      const command = services[name]!.command!;
      assert.equal(flag(command, '--name'), name);
      assert.equal(flag(command, '--initial-cluster'), members.map((member) => `${member}=http://${member}:2380`).join(','));
      assert.equal(flag(command, '--advertise-client-urls'), `http://${name}:2379`);
    }
  });

  it('runs each Beacon node over all three members, with its own name and a host name the other node reaches it by', () => {
    for (const name of ['beacon-a', 'beacon-b']) {
      const node = services[name]!;
      assert.equal(flag(node.command, '--etcd'), clientUrls);
      assert.equal(flag(node.command, '--node-name'), name);
      assert.equal(flag(node.command, '--bind'), '0.0.0.0');
      assert.equal(node.hostname, name, 'a node binding 0.0.0.0 announces its host name to the others');
      assert.equal(flag(node.command, '--db'), undefined, '--etcd and --db exclude each other');
    }
  });

  it('registers api-1 through beacon-a and api-2 through beacon-b', () => {
    assert.equal(flag(services['api-1']!.command, '--registry'), 'http://beacon-a:8500');
    assert.equal(flag(services['api-2']!.command, '--registry'), 'http://beacon-b:8500');
  });
});

describe('deploy/prometheus/prometheus.yml', () => {
  interface ScrapeConfig {
    job_name: string;
    static_configs?: { targets: string[] }[];
    consul_sd_configs?: { server: string; services?: string[] }[];
    relabel_configs?: { source_labels?: string[]; target_label?: string; action?: string }[];
  }
  const config = parse(readFileSync(join(root, 'deploy/prometheus/prometheus.yml'), 'utf8')) as { scrape_configs: ScrapeConfig[] };
  const { services } = composeConfig();

  it("discovers web's instances through Beacon's Consul-compatible API, at beacon:8500", () => {
    const discovered = config.scrape_configs.filter((job) => job.consul_sd_configs);
    assert.equal(discovered.length, 1);
    assert.deepEqual(discovered[0]!.consul_sd_configs, [{ server: 'beacon:8500', services: ['web'] }]);
    assert.ok('beacon' in services, 'beacon is the compose service of that name');
  });

  it('labels each discovered target with its service and its instance id', () => {
    const relabel = config.scrape_configs.find((job) => job.consul_sd_configs)!.relabel_configs ?? [];
    const mapped = (source: string) => relabel.find((rule) => rule.source_labels?.join() === source && (rule.action ?? 'replace') === 'replace')?.target_label;
    assert.equal(mapped('__meta_consul_service'), 'service');
    assert.equal(mapped('__meta_consul_service_id'), 'instance');
  });

  it("scrapes Beacon's own /metrics and the proxy's admin /metrics at the addresses compose gives them", () => {
    const targets = config.scrape_configs.flatMap((job) => job.static_configs ?? []).flatMap((group) => group.targets);
    assert.ok(targets.includes('beacon:8500'));
    const adminPort = flag(services.proxy!.command, '--admin')!.split(':')[1];
    assert.ok(targets.includes(`proxy:${adminPort}`));
  });
});

describe('Dockerfile', () => {
  const dockerfile = readFileSync(join(root, 'Dockerfile'), 'utf8').replace(/\\\n/g, ' ');
  const stages = dockerfile.split(/^(?=FROM\s)/m).filter((stage) => stage.startsWith('FROM'));
  const runtime = stages.at(-1) ?? '';
  /** What the runtime stage copies from the build stage, as paths in the build stage's /app. */
  const copied = [...runtime.matchAll(/^COPY\s+--from=build\s+\/app\/(\S*)\s+\S+\s*$/gm)].map((match) => match[1]!.replace(/\/$/, '') || '.');
  const covers = (path: string) => copied.some((source) => source === '.' || path === source || path.startsWith(`${source}/`));

  it('builds in a stage named build and runs from a second, smaller stage', () => {
    assert.equal(stages.length, 2);
    assert.match(stages[0]!, /^FROM\s+\S+\s+AS\s+build\s*$/im);
    assert.doesNotMatch(runtime, /^RUN\s+npm\s+ci/m, 'the runtime stage installs nothing');
  });

  it('runs as the non-root node user, with a health check', () => {
    assert.match(runtime, /^USER\s+node\s*$/m);
    assert.match(runtime, /^HEALTHCHECK\s+.*CMD\s+.*\/readyz/m);
    assert.match(runtime, /^ENTRYPOINT\s+\["node",\s*"bin\/beacon\.js"\]/m);
  });

  it('builds every folder tsconfig.json compiles: the build stage copies each into the image', () => {
    const include = (JSON.parse(readFileSync(join(root, 'tsconfig.json'), 'utf8')) as { include: string[] }).include;
    const copiedIntoBuild = [...stages[0]!.matchAll(/^COPY\s+(\S+)\s+\S+\s*$/gm)].map((match) => match[1]!.replace(/\/$/, ''));
    for (const folder of include) assert.ok(copiedIntoBuild.includes(folder), `the build stage copies ${folder}/ (copied: ${copiedIntoBuild.join(', ')})`);
  });

  it('copies everything the runtime needs: bin, the compiled contract, server and clients, migrations, production dependencies', () => {
    for (const path of ['package.json', 'bin/beacon.js', 'dist/contract/instance.js', 'dist/server/main.js', 'dist/clients/proxy/main.js', 'migrations', 'node_modules']) {
      assert.ok(covers(path), `${path} reaches the runtime image (copied: ${copied.join(', ')})`);
    }
  });

  it('copies every command bin/beacon.js dispatches to', () => {
    const targets = [...readFileSync(join(root, 'bin/beacon.js'), 'utf8').matchAll(/import\('\.\.\/(dist\/[^']+)'\)/g)].map((match) => match[1]!);
    assert.ok(targets.includes('dist/clients/demo/demo-service-main.js'));
    for (const target of targets) assert.ok(covers(target), `${target} reaches the runtime image`);
  });

  it('keeps the tests and benchmarks out of the runtime image', () => {
    for (const path of ['dist/test/e2e/demo.test.js', 'dist/bench/run.js', 'test', 'bench']) assert.ok(!covers(path), `${path} stays in the build stage`);
  });

  it('copies the files under contract/, server/ and clients/ that tsc does not emit (assets read at runtime)', () => {
    const assets = ['contract', 'server', 'clients']
      .flatMap((folder) => filesUnder(join(root, folder)))
      .map((file) => relative(root, file).split('\\').join('/'))
      .filter((file) => !file.endsWith('.ts') && !file.endsWith('README.md'));
    for (const asset of assets) assert.ok(covers(asset), `${asset} is not copied into the runtime image`);
  });

  it('leaves local state out of the build context (.dockerignore)', () => {
    const ignored = readFileSync(join(root, '.dockerignore'), 'utf8').split('\n').map((line) => line.trim());
    for (const entry of ['node_modules', 'dist', 'data', '.git', 'test-artifacts']) assert.ok(ignored.includes(entry), entry);
  });
});

function filesUnder(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => (entry.isDirectory() ? filesUnder(join(dir, entry.name)) : [join(dir, entry.name)]));
}
