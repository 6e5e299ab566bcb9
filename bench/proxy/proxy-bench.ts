import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { describeLoad, type LoadRatios, type LoadResult, loadRatios, medianRatios, medianResult } from '../registry-http.js';
import { readMetric, registerInstances } from '../support/beacon-http.js';
import { beaconStart } from '../support/beacon-process.js';
import { type CpuPlan, onCpu } from '../support/cpu.js';
import { type ListeningProcess, withListeningProcess } from '../support/listening-process.js';
import { processCpuMs } from '../support/process-cpu.js';
import { median, sum } from '../support/stats.js';
import { runWrk, type WrkLoad } from '../support/wrk.js';
import { type Contender, type ContenderId, contenders, type Target } from './contenders.js';
import { haproxyIsInstalled, haproxyVersion } from './haproxy.js';
import { BACKEND_COUNT, BENCH_POLICY, backendBody, backendId, backendRegistration, POLICY_SERVICE, SERVICE } from './upstreams.js';

export interface ProxyBenchSettings {
  rounds: number;
  /** Open connections, each with one request in flight (wrk keeps them busy). */
  connections: number;
  /** Once, after a contender starts. */
  startWarmupSeconds: number;
  /** Before every measured run. */
  warmupSeconds: number;
  durationSeconds: number;
  cpus: CpuPlan;
  /** Where haproxy's configuration goes. */
  workDir: string;
}

/** A contender's measured run: wrk's figures, its CPU per request, and what wrk counted as failed. */
export interface ContenderRun extends LoadResult {
  /** The backends process's CPU per request, the same work whoever forwards. */
  backendsCpuUsPerRequest?: number;
  /** Non-2xx answers and socket errors: reported, since they would flatter whoever made them. */
  failures: number;
}

export type ProxyRound = Partial<Record<ContenderId, ContenderRun>>;

export interface ProxyBenchResult {
  /** The contenders measured, in the order each round ran them. */
  measured: ContenderId[];
  /** Contenders left out, and why (haproxy when it is not installed). */
  skipped: { id: ContenderId; reason: string }[];
  rounds: ProxyRound[];
  bodyBytes: number;
  versions: { httpProxy: string; haproxy?: string };
}

/** The other proxies `beacon proxy` is compared with. */
export const COMPARED = ['minimal', 'dispatch', 'dispatchHeaders', 'httpProxy', 'haproxy'] as const;
export type Compared = (typeof COMPARED)[number];

export interface ProxySummary {
  /** Field by field medians over the rounds; failures are the sum over the rounds. */
  medians: ProxyRound;
  /** Each contender's req/s over direct's, the median of the rounds' own ratios. */
  vsDirect: Partial<Record<ContenderId, number>>;
  /** `beacon proxy`'s figures over each other proxy's, medians of the rounds' own ratios. */
  beaconVs: Partial<Record<Compared, LoadRatios>>;
  /** `beacon proxy` with the policy over `beacon proxy` without, medians of the rounds' own ratios. */
  policyVsNone?: LoadRatios;
}

const BACKENDS = fileURLToPath(new URL('./backends.js', import.meta.url));
const BACKENDS_LISTENING = new RegExp(`backends listening on ${Array(BACKEND_COUNT).fill('(http://\\S+)').join(' ')}`);
/** How long a contender may refuse connections after saying it started (haproxy binds just after). */
const READY_WAIT_MS = 5_000;
const REQUEST_TIMEOUT_MS = 5_000;

/**
 * wrk through every contender to the same backends. The backends (one process) and the
 * registry share the load generator's CPU, so the contender has the other CPU to itself. Every
 * contender is started once, checked and warmed up (a fresh Node process on one pinned CPU
 * takes several seconds to reach its steady rate: V8's optimising compiler and the GC threads
 * share that CPU); then each round measures them one at a time, back to back, so the machine's
 * noise lands on all of them. Idle contenders cost nothing meanwhile.
 */
export async function benchProxy(settings: ProxyBenchSettings, log: (line: string) => void): Promise<ProxyBenchResult> {
  const [command, args] = onCpu(settings.cpus.loadGenerator, process.execPath, [BACKENDS]);
  return withListeningProcess({ command, args, listeningLine: BACKENDS_LISTENING, name: 'backends' }, (backendsProcess) =>
    withListeningProcess(beaconStart(':memory:', settings.cpus.loadGenerator), async (registry) => {
      const backends = backendsProcess.captures;
      for (const service of [SERVICE, POLICY_SERVICE]) {
        await registerInstances(registry.url, backends.length, backends.length, (n) => ({
          path: `/v1/services/${service}/instances/${backendId(n)}`,
          body: backendRegistration(n, Number(new URL(backends[n]!).port)),
        }));
      }
      const policyIndex = await putPolicy(registry.url);
      const all = contenders({ backends, registry: registry.url, cpus: settings.cpus, workDir: settings.workDir, policyIndex });
      return withContenders(all, async (running) => {
        for (const { contender, target } of running) {
          await checkAnswers(contender, target);
          if (hasProcess(target)) await runWrk(wrkLoad(settings, target, settings.startWarmupSeconds));
          log(`proxy: ${contender.id} started, checked and warmed up`);
        }
        const rounds: ProxyRound[] = [];
        for (let round = 1; round <= settings.rounds; round++) {
          const results: ProxyRound = {};
          // Turned by one place each round: a contender measured just after a heavy one (a
          // warm CPU, a busy backend) would otherwise always be.
          const shift = (round - 1) % running.length;
          for (const { contender, target } of [...running.slice(shift), ...running.slice(0, shift)]) {
            const run = await measure(settings, contender, target, backendsProcess);
            log(`proxy round ${round}/${settings.rounds}: ${contender.id} ${describeRun(run)}`);
            results[contender.id] = run;
          }
          rounds.push(results);
        }
        return {
          measured: all.map((contender) => contender.id),
          skipped: haproxyIsInstalled() ? [] : [{ id: 'haproxy', reason: 'haproxy is not installed (apt-get install -y haproxy)' }],
          rounds,
          bodyBytes: Buffer.byteLength(backendBody(0)),
          versions: {
            httpProxy: (createRequire(import.meta.url)('http-proxy/package.json') as { version: string }).version,
            ...(haproxyIsInstalled() ? { haproxy: haproxyVersion() } : {}),
          },
        };
      });
    }),
  );
}

/** Sets BENCH_POLICY as POLICY_SERVICE's traffic policy; resolves with the index the registry answered (`X-Beacon-Index`). */
async function putPolicy(registry: string): Promise<number> {
  const response = await fetch(`${registry}/v1/services/${POLICY_SERVICE}/policy`, {
    method: 'PUT',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(BENCH_POLICY),
    signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
  });
  const text = await response.text();
  const index = Number(response.headers.get('x-beacon-index'));
  if (!response.ok || !Number.isInteger(index) || index <= 0) {
    throw new Error(`setting ${POLICY_SERVICE}'s policy answered ${response.status} (X-Beacon-Index ${response.headers.get('x-beacon-index')}): ${text}`);
  }
  return index;
}

interface Running {
  contender: Contender;
  target: Target;
}

/** Runs `work` with every contender started (one after another), and stops them all however it ends. */
function withContenders<T>(list: readonly Contender[], work: (running: Running[]) => Promise<T>, started: Running[] = []): Promise<T> {
  const [first, ...rest] = list;
  if (first === undefined) return work(started);
  return first.run((target) => withContenders(rest, work, [...started, { contender: first, target }]));
}

/**
 * One measured run: checked again (a proxy that broke since must not go on), a short warm-up
 * that reopens the connections the idle time closed, then the run.
 */
async function measure(settings: ProxyBenchSettings, contender: Contender, target: Target, backends: ListeningProcess): Promise<ContenderRun> {
  await checkAnswers(contender, target);
  if (hasProcess(target)) await runWrk(wrkLoad(settings, target, settings.warmupSeconds));
  const answeredBefore = target.adminUrl === undefined ? 0 : await readMetric(target.adminUrl, 'beacon_proxy_responses_total');
  const backendsBefore = processCpuMs(backends.pid);
  const targetBefore = target.pid === undefined ? undefined : processCpuMs(target.pid);
  const result = await runWrk(wrkLoad(settings, target, settings.durationSeconds));
  const backendsCpu = cpuUsPerRequest(backends.pid, backendsBefore, result.requests);
  const targetCpu = target.pid === undefined ? undefined : cpuUsPerRequest(target.pid, targetBefore, result.requests);
  if (target.adminUrl !== undefined) await checkBeaconCount(target.adminUrl, answeredBefore, result.requests, settings.connections);
  return {
    requests: result.requests,
    requestsPerSecond: result.requestsPerSecond,
    p50Ms: result.p50Ms,
    p99Ms: result.p99Ms,
    failures: result.failures ?? 0,
    ...(targetCpu === undefined ? {} : { cpuUsPerRequest: targetCpu }),
    ...(backendsCpu === undefined ? {} : { backendsCpuUsPerRequest: backendsCpu }),
  };
}

/** Direct starts nothing to warm up: the backends warm up under every proxy's load. */
function hasProcess(target: Target): boolean {
  return target.pid !== undefined;
}

/** CPU time process `pid` used since it had used `beforeMs`, per request; undefined off Linux. */
function cpuUsPerRequest(pid: number, beforeMs: number | undefined, requests: number): number | undefined {
  const afterMs = processCpuMs(pid);
  return beforeMs === undefined || afterMs === undefined ? undefined : ((afterMs - beforeMs) * 1000) / requests;
}

function wrkLoad(settings: ProxyBenchSettings, target: Target, durationSeconds: number): WrkLoad {
  return { url: `${target.url}/`, connections: settings.connections, durationSeconds, cpu: settings.cpus.loadGenerator, countFailures: true };
}

/**
 * Before every load: a few requests one at a time must each be answered 200 with a backend's
 * body, and a proxy's must reach every backend. A broken proxy cannot then "win" with fast
 * errors, nor a stuck one by talking to a single backend.
 */
async function checkAnswers(contender: Contender, target: Target): Promise<void> {
  const bodies = Array.from({ length: BACKEND_COUNT }, (_, n) => backendBody(n));
  const seen = new Set<string>();
  for (let n = 0; n < 2 * BACKEND_COUNT; n++) {
    const { status, body } = await get(`${target.url}/`, n === 0 ? READY_WAIT_MS : 0);
    if (status !== 200 || !bodies.includes(body)) {
      throw new Error(`${contender.label} answered ${status} with ${JSON.stringify(body.slice(0, 300))}; expected 200 with a backend's body`);
    }
    seen.add(body);
  }
  if (seen.size < target.backends) {
    throw new Error(`${contender.label} reached ${seen.size} backends in ${2 * BACKEND_COUNT} requests; expected at least ${target.backends}`);
  }
}

/** A GET, retrying a refused connection for up to `readyWaitMs`. */
async function get(url: string, readyWaitMs: number): Promise<{ status: number; body: string }> {
  const giveUpAt = Date.now() + readyWaitMs;
  for (;;) {
    try {
      const response = await fetch(url, { signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS) });
      return { status: response.status, body: await response.text() };
    } catch (error) {
      const refused = ((error as Error).cause as NodeJS.ErrnoException | undefined)?.code === 'ECONNREFUSED';
      if (!refused || Date.now() >= giveUpAt) throw error;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }
}

/**
 * `beacon proxy`'s own count of answers must cover every request wrk completed. Requests still
 * in flight when wrk stops may be counted by the proxy and not by wrk: one per connection.
 */
async function checkBeaconCount(adminUrl: string, before: number, completed: number, connections: number): Promise<void> {
  const counted = (await readMetric(adminUrl, 'beacon_proxy_responses_total')) - before;
  if (counted < completed || counted > completed + connections) {
    throw new Error(`wrk completed ${completed} requests through beacon proxy but it counted ${counted} answers`);
  }
}

export function summarizeProxy(result: ProxyBenchResult): ProxySummary {
  const medians: ProxyRound = {};
  const vsDirect: Partial<Record<ContenderId, number>> = {};
  const beaconVs: Partial<Record<Compared, LoadRatios>> = {};
  for (const id of result.measured) {
    const runs = result.rounds.map((round) => round[id]!);
    const backendsCpu = runs.flatMap((run) => (run.backendsCpuUsPerRequest === undefined ? [] : [run.backendsCpuUsPerRequest]));
    medians[id] = {
      ...medianResult(runs),
      failures: sum(runs.map((run) => run.failures)),
      ...(backendsCpu.length === runs.length ? { backendsCpuUsPerRequest: median(backendsCpu) } : {}),
    };
    vsDirect[id] = median(result.rounds.map((round) => round[id]!.requestsPerSecond / round.direct!.requestsPerSecond));
  }
  for (const id of COMPARED) {
    if (result.measured.includes(id)) beaconVs[id] = medianRatios(result.rounds.map((round) => beaconRatios(round, id)!));
  }
  const policyVsNone = result.measured.includes('beaconPolicy') ? medianRatios(result.rounds.map((round) => loadRatios(round.beaconPolicy!, round.beacon!))) : undefined;
  return { medians, vsDirect, beaconVs, ...(policyVsNone === undefined ? {} : { policyVsNone }) };
}

/** `beacon proxy`'s figures over another contender's in one round; undefined when either is missing. */
export function beaconRatios(round: ProxyRound, other: Compared): LoadRatios | undefined {
  const beacon = round.beacon;
  const compared = round[other];
  return beacon && compared ? loadRatios(beacon, compared) : undefined;
}

function describeRun(run: ContenderRun): string {
  return `${describeLoad(run)}${run.failures === 0 ? '' : `, ${run.failures} failed requests`}`;
}
