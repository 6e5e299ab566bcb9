import { once } from 'node:events';
import { readFileSync, writeFileSync } from 'node:fs';
import { get as httpsGet } from 'node:https';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { packageRoot } from '../../server/paths.js';
import { createThrowawayCa } from '../../clients/tls/openssl-ca.js';
import { registerInstances } from '../support/beacon-http.js';
import { beaconStart } from '../support/beacon-process.js';
import { type CpuPlan, onCpu } from '../support/cpu.js';
import { freePort } from '../support/free-port.js';
import { type ProcessStart, withListeningProcess } from '../support/listening-process.js';
import { processCpuMs } from '../support/process-cpu.js';
import { median } from '../support/stats.js';
import { runWrk } from '../support/wrk.js';
import { haproxyStart, haproxyVersion } from './haproxy.js';
import type { ProxyBenchSettings } from './proxy-bench.js';
import { BACKEND_COUNT, backendBody, backendId, backendRegistration, SERVICE } from './upstreams.js';

/** The plain proxy bench's settings: the same load, warm-ups and pinning. */
export type ProxyTlsBenchSettings = ProxyBenchSettings;

export type TlsContenderId = 'beaconTls' | 'haproxyTls';

export const TLS_LABELS: Record<TlsContenderId, string> = {
  beaconTls: '`beacon proxy`, TLS on both hops',
  haproxyTls: 'haproxy (Debian, 1 thread), TLS on both hops',
};

export interface TlsRun {
  requests: number;
  requestsPerSecond: number;
  p99Ms: number;
  cpuUsPerRequest: number;
  failures: number;
}

export interface ProxyTlsBenchResult {
  rounds: Record<TlsContenderId, TlsRun>[];
  haproxy: string;
}

export interface ProxyTlsSummary {
  medians: Record<TlsContenderId, TlsRun>;
  /** `beacon proxy`'s CPU per request over haproxy's, the median of the rounds' own ratios. */
  cpuRatio: number;
  /** haproxy's req/s over `beacon proxy`'s, the median of the rounds' own ratios. */
  throughputRatio: number;
}

const BACKENDS = fileURLToPath(new URL('./backends.js', import.meta.url));
const BEACON_BIN = join(packageRoot, 'bin/beacon.js');
const TLS_BACKENDS_LISTENING = new RegExp(`backends listening on ${Array(BACKEND_COUNT).fill('(https://\\S+)').join(' ')}`);
const PROXY_LISTENING = /^(?=[\s\S]*proxy listening on (https:\/\/[^\s"]+))(?=[\s\S]*proxy admin listening on (http:\/\/[^\s"]+))/;

/**
 * `beacon proxy` and haproxy with TLS on both hops, measured in the same run: wrk (which keeps
 * its connections) to an HTTPS listener, the proxy to HTTPS backends that require its client
 * certificate, verified against a throwaway CA. CPU per request of the proxy process is the
 * figure; each round measures both, back to back.
 */
export async function benchProxyTls(settings: ProxyTlsBenchSettings, log: (line: string) => void): Promise<ProxyTlsBenchResult> {
  const ca = await createThrowawayCa(join(settings.workDir, 'tls-ca'));
  const loopback = { altNames: ['IP:127.0.0.1'], usage: 'server' as const };
  const backendCert = await ca.issue('backend', loopback);
  const listener = await ca.issue('proxy', loopback);
  const proxyClient = await ca.issue('proxy-client', { usage: 'client' });
  const caPem = readFileSync(ca.caCert);
  const [command, args] = onCpu(settings.cpus.loadGenerator, process.execPath, [BACKENDS, backendCert.cert, backendCert.key, ca.caCert]);
  return withListeningProcess({ command, args, listeningLine: TLS_BACKENDS_LISTENING, name: 'TLS backends' }, (backendsProcess) =>
    withListeningProcess(beaconStart(':memory:', settings.cpus.loadGenerator), async (registry) => {
      const backends = backendsProcess.captures;
      await registerInstances(registry.url, backends.length, backends.length, (n) => ({
        path: `/v1/services/${SERVICE}/instances/${backendId(n)}`,
        body: backendRegistration(n, Number(new URL(backends[n]!).port)),
      }));
      const beaconArgs = [
        ...[BEACON_BIN, 'proxy', '--service', SERVICE, '--listen', '127.0.0.1:0', '--registry', registry.url, '--admin', '127.0.0.1:0', '--log-level', 'info'],
        ...['--listen-tls-cert', listener.cert, '--listen-tls-key', listener.key],
        ...['--upstream-tls-ca', ca.caCert, '--upstream-tls-cert', proxyClient.cert, '--upstream-tls-key', proxyClient.key],
      ];
      const [beaconCommand, beaconCommandArgs] = onCpu(settings.cpus.server, process.execPath, beaconArgs);
      const beacon: ProcessStart = { command: beaconCommand, args: beaconCommandArgs, listeningLine: PROXY_LISTENING, name: 'beacon proxy (TLS)' };
      const port = await freePort();
      const haproxy = haproxyTlsStart(settings.workDir, port, backends, { listener, proxyClient, caCert: ca.caCert }, settings.cpus.server);
      return withListeningProcess(beacon, (beaconProcess) =>
        withListeningProcess(haproxy, async (haproxyProcess) => {
          const targets: Record<TlsContenderId, { url: string; pid: number }> = {
            beaconTls: { url: beaconProcess.url, pid: beaconProcess.pid },
            haproxyTls: { url: `https://127.0.0.1:${port}`, pid: haproxyProcess.pid },
          };
          for (const id of ['beaconTls', 'haproxyTls'] as const) {
            await checkAnswers(targets[id].url, caPem, id);
            await runWrk({ url: `${targets[id].url}/`, connections: settings.connections, durationSeconds: settings.startWarmupSeconds, cpu: settings.cpus.loadGenerator, countFailures: true });
            log(`proxy TLS: ${id} started, checked and warmed up`);
          }
          const rounds: Record<TlsContenderId, TlsRun>[] = [];
          for (let round = 1; round <= settings.rounds; round++) {
            const results = {} as Record<TlsContenderId, TlsRun>;
            for (const id of ['beaconTls', 'haproxyTls'] as const) {
              results[id] = await measure(settings, targets[id]);
              log(`proxy TLS round ${round}/${settings.rounds}: ${id} ${Math.round(results[id].requestsPerSecond)} req/s, ${results[id].cpuUsPerRequest.toFixed(1)} µs CPU/request, p99 ${results[id].p99Ms} ms, ${results[id].failures} failed`);
            }
            rounds.push(results);
          }
          return { rounds, haproxy: haproxyVersion() };
        }),
      );
    }),
  );
}

async function measure(settings: ProxyTlsBenchSettings, target: { url: string; pid: number }): Promise<TlsRun> {
  const load = { url: `${target.url}/`, connections: settings.connections, cpu: settings.cpus.loadGenerator, countFailures: true };
  await runWrk({ ...load, durationSeconds: settings.warmupSeconds });
  const before = processCpuMs(target.pid);
  const result = await runWrk({ ...load, durationSeconds: settings.durationSeconds });
  const after = processCpuMs(target.pid);
  if (before === undefined || after === undefined) throw new Error('the TLS proxy bench reads CPU time from /proc: Linux only');
  return { requests: result.requests, requestsPerSecond: result.requestsPerSecond, p99Ms: result.p99Ms, cpuUsPerRequest: ((after - before) * 1000) / result.requests, failures: result.failures ?? 0 };
}

/** A few GETs over HTTPS, trusting only the throwaway CA: each must be a backend's body, and every backend must answer. */
async function checkAnswers(url: string, ca: Buffer, id: TlsContenderId): Promise<void> {
  const bodies = Array.from({ length: BACKEND_COUNT }, (_, n) => backendBody(n));
  const seen = new Set<string>();
  for (let n = 0; n < 2 * BACKEND_COUNT; n++) {
    const request = httpsGet(`${url}/`, { ca, agent: false, servername: '', timeout: 5000 });
    request.on('timeout', () => request.destroy(new Error('timed out')));
    const [response] = (await once(request, 'response')) as [import('node:http').IncomingMessage];
    let body = '';
    for await (const chunk of response) body += chunk;
    if (response.statusCode !== 200 || !bodies.includes(body)) throw new Error(`${id} answered ${response.statusCode} with ${JSON.stringify(body.slice(0, 300))}`);
    seen.add(body);
  }
  if (seen.size < BACKEND_COUNT) throw new Error(`${id} reached ${seen.size} of ${BACKEND_COUNT} backends`);
}

/**
 * haproxy as the plain bench runs it (one thread, keep-alive both ways, `http-reuse always`),
 * with TLS on both hops: its listener's certificate, and backends verified against the CA with
 * the proxy's client certificate. haproxy checks the chain only (no name: no SNI is set).
 */
function haproxyTlsStart(
  workDir: string,
  port: number,
  backends: readonly string[],
  files: { listener: { cert: string; key: string }; proxyClient: { cert: string; key: string }; caCert: string },
  cpu: number | undefined,
): ProcessStart {
  // haproxy takes a certificate and its key in one PEM file.
  const listenerPem = join(workDir, 'haproxy-listener.pem');
  const clientPem = join(workDir, 'haproxy-client.pem');
  writeFileSync(listenerPem, `${readFileSync(files.listener.cert, 'utf8')}${readFileSync(files.listener.key, 'utf8')}`);
  writeFileSync(clientPem, `${readFileSync(files.proxyClient.cert, 'utf8')}${readFileSync(files.proxyClient.key, 'utf8')}`);
  return haproxyStart(join(workDir, 'haproxy-tls.cfg'), port, backends, cpu, { bind: `ssl crt ${listenerPem}`, server: `ssl verify required ca-file ${files.caCert} crt ${clientPem}` });
}

export function summarizeProxyTls(result: ProxyTlsBenchResult): ProxyTlsSummary {
  const field = (id: TlsContenderId, key: keyof TlsRun) => median(result.rounds.map((round) => round[id][key]));
  const medianRun = (id: TlsContenderId): TlsRun => ({
    requests: field(id, 'requests'),
    requestsPerSecond: field(id, 'requestsPerSecond'),
    p99Ms: field(id, 'p99Ms'),
    cpuUsPerRequest: field(id, 'cpuUsPerRequest'),
    failures: result.rounds.reduce((total, round) => total + round[id].failures, 0),
  });
  return {
    medians: { beaconTls: medianRun('beaconTls'), haproxyTls: medianRun('haproxyTls') },
    cpuRatio: median(result.rounds.map((round) => round.beaconTls.cpuUsPerRequest / round.haproxyTls.cpuUsPerRequest)),
    throughputRatio: median(result.rounds.map((round) => round.haproxyTls.requestsPerSecond / round.beaconTls.requestsPerSecond)),
  };
}

export const PROXY_TLS_SECTION = 'proxy-tls-bench';

export function renderProxyTlsSection(report: { date: Date; machineLine: string; settings: ProxyTlsBenchSettings; result: ProxyTlsBenchResult; summary: ProxyTlsSummary }): string {
  const { settings, result, summary } = report;
  const rows = (['beaconTls', 'haproxyTls'] as const).map((id) => {
    const run = summary.medians[id];
    return `| ${TLS_LABELS[id]} | ${Math.round(run.requestsPerSecond).toLocaleString('en-US')} | ${run.cpuUsPerRequest.toFixed(1)} | ${run.p99Ms.toFixed(2)} | ${run.failures} |`;
  });
  return [
    '### Proxy with TLS on both hops: `beacon proxy` against haproxy',
    '',
    report.machineLine,
    `- wrk (1 thread, ${settings.connections} keep-alive connections) to an HTTPS listener; the proxy to ${BACKEND_COUNT} HTTPS backends that require its client certificate, verified against a throwaway CA (\`beacon proxy\` also checks the name, the backends' IP SAN; haproxy ${result.haproxy} checks the chain only). ${settings.rounds} rounds of ${settings.durationSeconds} s each, after ${settings.warmupSeconds} s of warm-up; the two are measured back to back in each round. Medians; failures summed.`,
    '',
    '| contender | req/s | CPU µs per request | p99 ms | failed requests |',
    '| --- | ---: | ---: | ---: | ---: |',
    ...rows,
    '',
    `**CPU per request, \`beacon proxy\` over haproxy, both with TLS on both hops: ${summary.cpuRatio.toFixed(2)}×** (median of the rounds' own ratios; haproxy's req/s is ${summary.throughputRatio.toFixed(2)}× \`beacon proxy\`'s).`,
    '',
    'The machine was shared with other work while this ran (see the load average): absolute rates are noisy; the ratio, from the same run with the two measured back to back, is the figure to compare with the plain-HTTP section above.',
  ].join('\n');
}
