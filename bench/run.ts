import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { packageRoot } from '../server/paths.js';
import { spawnSync } from 'node:child_process';
import { benchCluster, type ClusterBenchSettings, summarizeCluster } from './cluster/cluster-bench.js';
import { CLUSTER_SECTION, renderClusterSection } from './cluster/report.js';
import { checkClusterTargets } from './cluster/targets.js';
import { benchDns, type DnsBenchSettings, summarizeDns } from './dns.js';
import { DNS_SECTION, renderDnsSection } from './dns-report.js';
import { benchLivenessFlush } from './liveness-flush.js';
import { benchProxy, type ProxyBenchSettings, summarizeProxy } from './proxy/proxy-bench.js';
import { PROXY_SECTION, renderProxySection } from './proxy/proxy-report.js';
import { benchProxyTls, PROXY_TLS_SECTION, type ProxyTlsBenchSettings, renderProxyTlsSection, summarizeProxyTls } from './proxy/proxy-tls-bench.js';
import { haproxyIsInstalled } from './proxy/haproxy.js';
import { benchRegistryHttp, type HttpBenchSettings, summarizeHttp } from './registry-http.js';
import { REGISTRY_SECTION, renderSection, updateBenchmarksDoc } from './report.js';
import { checkDnsTargets, checkProxyTargets, checkTargets } from './targets.js';
import { type CpuPlan, describeCpuPlan, planCpus } from './support/cpu.js';
import { dnsmasqIsInstalled } from './dnsmasq-reference.js';
import { dnsperfIsInstalled, DNSPERF } from './support/dnsperf.js';
import type { Fleet } from './support/fleet.js';
import { currentLoad, describeMachine, readMachine } from './support/machine.js';
import { wrkIsInstalled } from './support/wrk.js';

/** dnsperf's queries in flight and UDP sockets, in the DNS section and the cluster's. */
const DNSPERF_LOAD = { outstanding: 100, clients: 4 } as const;

/** The scale: 10,000 instances, 100 services of 100. */
const FLEET: Fleet = { instances: 10_000, services: 100 };

const DOC = join(packageRoot, 'docs/benchmarks.md');

const PARTS = ['http', 'dns', 'proxy', 'proxy-tls', 'cluster'] as const;
type Part = (typeof PARTS)[number];

interface RunContext {
  rounds: number;
  seconds: number;
  cpus: CpuPlan;
  workDir: string;
  log: (line: string) => void;
}

/**
 * `npm run bench`: every benchmark, then the tables on stdout and in docs/benchmarks.md, each
 * part in its own marked section. Progress goes to stderr so stdout is the report alone. About
 * fourteen minutes with the defaults; BENCH_ROUNDS and BENCH_SECONDS shorten a trial run (the
 * report states what was used), BENCH_ONLY=http, dns, proxy, proxy-tls or cluster runs one part.
 */
async function main(): Promise<void> {
  const parts = partsFromEnv();
  const missing = [
    ...((parts.includes('http') || parts.includes('proxy') || parts.includes('proxy-tls') || parts.includes('cluster')) && !wrkIsInstalled() ? ['wrk is not installed; install it (apt-get install -y wrk)'] : []),
    ...(parts.includes('proxy-tls') && !haproxyIsInstalled() ? ['haproxy is not installed; install it (apt-get install -y haproxy)'] : []),
    ...(parts.includes('cluster') && spawnSync('etcd', ['--version']).status !== 0 ? ['etcd is not installed; install it (apt-get install -y etcd-server)'] : []),
    ...((parts.includes('dns') || parts.includes('cluster')) && !dnsperfIsInstalled() ? [`dnsperf is not installed (no ${DNSPERF}); install it (apt-get install -y dnsperf)`] : []),
  ];
  if (missing.length > 0) {
    for (const problem of missing) process.stderr.write(`bench: ${problem}\n`);
    process.stderr.write('bench: run again once installed\n');
    process.exitCode = 1;
    return;
  }
  const startedAt = Date.now();
  const workDir = mkdtempSync(join(tmpdir(), 'beacon-bench-'));
  try {
    const context: RunContext = {
      rounds: positiveIntegerFromEnv('BENCH_ROUNDS', 5),
      seconds: positiveIntegerFromEnv('BENCH_SECONDS', 10),
      cpus: planCpus(),
      workDir,
      log: (line) => process.stderr.write(`[${((Date.now() - startedAt) / 1000).toFixed(0).padStart(3)} s] ${line}\n`),
    };
    if (parts.includes('http')) await runRegistryBench(context);
    if (parts.includes('dns')) await runDnsBench(context);
    if (parts.includes('proxy')) await runProxyBench(context);
    if (parts.includes('proxy-tls')) await runProxyTlsBench(context);
    if (parts.includes('cluster')) await runClusterBench(context);
    context.log(`done; written to ${DOC}`);
  } finally {
    rmSync(workDir, { recursive: true, force: true });
  }
}

async function runRegistryBench(context: RunContext): Promise<void> {
  const loadBefore = currentLoad();
  const httpSettings: HttpBenchSettings = {
    rounds: context.rounds,
    fleet: FLEET,
    connections: 50,
    warmupSeconds: 2,
    heartbeatSeconds: context.seconds,
    registrationSeconds: 5,
    cpus: context.cpus,
    workDir: context.workDir,
  };
  context.log(`HTTP: ${httpSettings.rounds} rounds, ${describeCpuPlan(context.cpus)}`);
  const httpResult = await benchRegistryHttp(httpSettings, context.log);
  context.log('liveness flush: in-process');
  // 500 rows a chunk: Housekeeping's default flushChunkRows.
  const flush = benchLivenessFlush({ fleet: FLEET, chunkRows: 500, repetitions: 5, workDir: context.workDir });
  const summary = summarizeHttp(httpResult.rounds);
  const section = renderSection({
    date: new Date(),
    machine: readMachine(context.cpus, 'wrk', loadBefore),
    http: { settings: httpSettings, result: httpResult, summary },
    flush,
    targets: checkTargets(summary),
  });
  process.stdout.write(`${section}\n\n`);
  updateBenchmarksDoc(DOC, REGISTRY_SECTION, section);
}

async function runDnsBench(context: RunContext): Promise<void> {
  const loadBefore = currentLoad();
  const settings: DnsBenchSettings = {
    rounds: context.rounds,
    durationSeconds: context.seconds,
    warmupSeconds: 2,
    ...DNSPERF_LOAD,
    tcpQueries: 200,
    registrationConcurrency: 50,
    dnsmasq: dnsmasqIsInstalled(),
    cpus: context.cpus,
    workDir: context.workDir,
  };
  context.log(`DNS: ${settings.rounds} rounds, ${describeCpuPlan(context.cpus, 'dnsperf')}`);
  const result = await benchDns(settings, context.log);
  const summary = summarizeDns(result.rounds);
  const section = renderDnsSection({
    date: new Date(),
    machine: readMachine(context.cpus, 'dnsperf and the TCP probe', loadBefore),
    settings,
    result,
    summary,
    targets: checkDnsTargets(summary),
  });
  process.stdout.write(`${section}\n`);
  updateBenchmarksDoc(DOC, DNS_SECTION, section);
}

/** What shares the load generator's CPU in the proxy bench (2 cores: the contender gets the other). */
const LOAD_SIDE = 'wrk, the backends and the registry';

async function runProxyBench(context: RunContext): Promise<void> {
  const loadBefore = currentLoad();
  const settings: ProxyBenchSettings = {
    rounds: context.rounds,
    connections: 50,
    startWarmupSeconds: 5,
    warmupSeconds: 1,
    durationSeconds: context.seconds,
    cpus: context.cpus,
    workDir: context.workDir,
  };
  context.log(`proxy: ${settings.rounds} rounds, ${describeCpuPlan(context.cpus, LOAD_SIDE, 'the proxy')}`);
  const result = await benchProxy(settings, context.log);
  const summary = summarizeProxy(result);
  const section = renderProxySection({
    date: new Date(),
    machine: readMachine(context.cpus, LOAD_SIDE, loadBefore, 'the proxy'),
    settings,
    result,
    summary,
    targets: checkProxyTargets(summary),
  });
  process.stdout.write(`${section}\n`);
  updateBenchmarksDoc(DOC, PROXY_SECTION, section);
}

/**
 * `beacon proxy` against haproxy with TLS on both hops: kept short (3 rounds of at most 5 s,
 * under two minutes in all), as its one figure is a CPU ratio measured in the same run.
 */
async function runProxyTlsBench(context: RunContext): Promise<void> {
  const loadBefore = currentLoad();
  const settings: ProxyTlsBenchSettings = {
    rounds: Math.min(context.rounds, 3),
    connections: 50,
    // A fresh Node process on one pinned CPU takes seconds to reach its steady rate (JIT, GC).
    startWarmupSeconds: 5,
    warmupSeconds: 1,
    durationSeconds: Math.min(context.seconds, 5),
    cpus: context.cpus,
    workDir: context.workDir,
  };
  context.log(`proxy TLS: ${settings.rounds} rounds, ${describeCpuPlan(context.cpus, LOAD_SIDE, 'the proxy')}`);
  const result = await benchProxyTls(settings, context.log);
  const summary = summarizeProxyTls(result);
  const date = new Date();
  const section = renderProxyTlsSection({ date, machineLine: describeMachine(date, readMachine(context.cpus, LOAD_SIDE, loadBefore, 'the proxy')), settings, result, summary });
  process.stdout.write(`${section}\n`);
  updateBenchmarksDoc(DOC, PROXY_TLS_SECTION, section);
}

async function runClusterBench(context: RunContext): Promise<void> {
  const loadBefore = currentLoad();
  const settings: ClusterBenchSettings = {
    rounds: context.rounds,
    fleet: FLEET,
    connections: 50,
    warmupSeconds: 2,
    heartbeatSeconds: context.seconds,
    steadySeconds: 3 * context.seconds,
    registrationSeconds: 5,
    propagationTrials: 200,
    // The "median of 5 trials".
    kills: 5,
    dns: { durationSeconds: context.seconds, warmupSeconds: 2, ...DNSPERF_LOAD, cpus: context.cpus },
    cpus: context.cpus,
    workDir: context.workDir,
  };
  context.log(`cluster: ${settings.rounds} rounds, ${describeCpuPlan(context.cpus, 'wrk, dnsperf and the bare etcd client')} (etcd shares the machine)`);
  const result = await benchCluster(settings, context.log);
  const summary = summarizeCluster(result);
  const section = renderClusterSection({
    date: new Date(),
    machine: readMachine(context.cpus, 'wrk, dnsperf and the bare etcd client', loadBefore, 'Beacon nodes'),
    settings,
    result,
    summary,
    targets: checkClusterTargets(summary),
  });
  process.stdout.write(`${section}\n`);
  updateBenchmarksDoc(DOC, CLUSTER_SECTION, section);
}

function partsFromEnv(): Part[] {
  const only = process.env.BENCH_ONLY;
  if (only === undefined || only === '') return [...PARTS];
  const part = PARTS.find((name) => name === only);
  if (part === undefined) throw new Error(`BENCH_ONLY must be ${PARTS.join(', ')}, got ${JSON.stringify(only)}`);
  return [part];
}

function positiveIntegerFromEnv(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined) return fallback;
  if (!/^[1-9]\d*$/.test(raw)) throw new Error(`${name} must be a positive integer, got ${JSON.stringify(raw)}`);
  return Number(raw);
}

await main();
