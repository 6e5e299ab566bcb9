import { renderTargets } from '../report.js';
import type { LoadRatios } from '../registry-http.js';
import { describeMachine, type Machine } from '../support/machine.js';
import { microseconds, ms, perSecond, plural, ratio, subsection, table } from '../support/markdown.js';
import type { TargetCheck } from '../targets.js';
import { type ContenderId, LABELS } from './contenders.js';
import { beaconRatios, COMPARED, type Compared, type ContenderRun, type ProxyBenchResult, type ProxyBenchSettings, type ProxySummary } from './proxy-bench.js';
import { BACKEND_COUNT, BACKEND_TTL_SECONDS, BENCH_POLICY, POLICY_SERVICE, SERVICE, SPLIT_MAIN_GROUP } from './upstreams.js';

export interface ProxyReport {
  date: Date;
  machine: Machine;
  settings: ProxyBenchSettings;
  result: ProxyBenchResult;
  summary: ProxySummary;
  targets: TargetCheck[];
}

/** The marker of the proxy section of docs/benchmarks.md. */
export const PROXY_SECTION = 'proxy-bench';

const SHORT: Record<ContenderId, string> = {
  direct: 'direct',
  minimal: 'minimal forwarder',
  dispatch: 'dispatch forwarder',
  dispatchHeaders: 'dispatch + headers',
  beacon: 'beacon proxy',
  beaconPolicy: 'beacon proxy + policy',
  httpProxy: 'http-proxy',
  haproxy: 'haproxy',
};

/** The generated proxy section: what `npm run bench` prints and writes to docs/benchmarks.md. */
export function renderProxySection(report: ProxyReport): string {
  return [
    '## Proxy: `beacon proxy` against two minimal Node forwarders, http-proxy and haproxy',
    '',
    ...describeMethod(report),
    '',
    ...subsection('Targets', renderTargets(report.targets)),
    ...subsection('Every contender (medians)', renderMedians(report)),
    ...subsection("`beacon proxy` over the others (medians of the rounds' ratios)", renderBeaconRatios(report.summary)),
    ...subsection("`beacon proxy` with the policy over without (medians of the rounds' ratios)", renderPolicyRatios(report.summary)),
    ...subsection('Every round', renderRounds(report.result)),
    ...subsection("Every round: `beacon proxy`'s ratios", renderRoundRatios(report.result)),
  ]
    .join('\n')
    .trimEnd();
}

function describeMethod({ date, machine, settings, result }: ProxyReport): string[] {
  const order = result.measured.map((id) => SHORT[id]).join(', ');
  const { versions } = result;
  return [
    describeMachine(date, machine),
    `- Medians of ${plural(settings.rounds, 'round')}. Every contender is started once and warmed up with ${settings.startWarmupSeconds} s ` +
      `of load (a Node process pinned to one CPU takes seconds to reach its steady rate); then each round measures them one at a time, ` +
      `back to back, in this order turned by one place a round (round 2 starts with the second), so none is always measured after the same one: ${order}. The idle ones wait meanwhile. A ratio is the median of the rounds' own ratios.`,
    `- wrk: 1 thread, ${settings.connections} keep-alive connections, \`GET /\` for ${settings.durationSeconds} s after a ` +
      `${settings.warmupSeconds} s warm-up that reopens the connections idle time closed (direct needs none). Before every run the contender must answer ` +
      `${2 * BACKEND_COUNT} requests in a row with 200 and a backend's body, reaching every backend (direct: its one); failed ` +
      `requests (non-2xx answers, socket errors) are counted and shown; \`beacon proxy\`'s \`beacon_proxy_responses_total\` ` +
      `must account for every request wrk completed. Through the policy's split a check must reach both backends of the 90 % ` +
      `group (the 10 % one may not come up in ${2 * BACKEND_COUNT} requests).`,
    `- Backends: ${BACKEND_COUNT} node:http servers in one process (bench/proxy/backends.ts), each answering any request with a ` +
      `fixed ${result.bodyBytes}-byte JSON body, registered as service \`${SERVICE}\` and again as \`${POLICY_SERVICE}\` ` +
      `(weight 1, ttl ${BACKEND_TTL_SECONDS} s; tag \`a\` on the first ${SPLIT_MAIN_GROUP}, \`b\` on the last) ` +
      `in a \`beacon server --db :memory:\`. With 2 cores, the backends and the registry share wrk's CPU, so the load side ` +
      `(wrk + backends) does the same work per request whoever forwards, and the contender has the other CPU to itself.`,
    `- Direct: wrk straight to one backend, the reference. One backend rather than ${BACKEND_COUNT} changes nothing on the ` +
      `backend side (they share one process and event loop); it is the most the load side carries here, so a contender at ` +
      `1.0× direct would be limited by the load side, not by itself.`,
    '- Contenders, each its own process: the minimal Node forwarder (bench/proxy/minimal-forwarder.ts: node:http server, one ' +
      'undici `Pool` per backend, `pool.request` piped into the response, round-robin, connection headers dropped, nothing ' +
      'else); the undici dispatch forwarder (bench/proxy/dispatch-forwarder.ts: the same, but `pool.dispatch` with an undici 7 ' +
      'handler, `onResponseStart`/`onResponseData`/`onResponseEnd`, writing straight into the node:http response: no stream ' +
      'or promise per request); the same dispatch forwarder run as `dispatch-forwarder.js --forwarding-headers`, doing the header work a proxy owes with ' +
      "`beacon proxy`'s own functions (x-request-id kept or made and sent both ways, X-Forwarded-For/-Proto and Via upstream, Via " +
      'downstream, hop-by-hop fields dropped) and nothing else: the reference for what the rest of `beacon proxy` costs; ' +
      '`beacon proxy` as a user runs it ' +
      '(`node bin/beacon.js proxy --service bench --registry … --admin 127.0.0.1:0`: weighted round-robin, circuit breakers, ' +
      'retries, metrics, X-Forwarded-For/-Proto and Via); the same `beacon proxy` for `' + POLICY_SERVICE + '`, whose traffic ' +
      `policy is set before it starts (\`${JSON.stringify(BENCH_POLICY)}\`) and measured once its \`/stats\` shows the ` +
      "policy's index (`trafficPolicy.index` ≥ the PUT's `X-Beacon-Index`); " +
      `http-proxy ${versions.httpProxy} with a keep-alive \`http.Agent\`, ` +
      'round-robin (bench/proxy/http-proxy-forwarder.ts)' +
      (versions.haproxy === undefined
        ? '.'
        : `; haproxy ${versions.haproxy} (Debian), \`nbthread 1\`, roundrobin, \`http-reuse always\` (configuration from bench/proxy/haproxy.ts).`),
    ...result.skipped.map(({ id, reason }) => `- **Not measured: ${SHORT[id]}**: ${reason}.`),
    '- "Proxy CPU per request": the contender process\'s user + system time during the run (from /proc) over the requests ' +
      'wrk completed; "Backends CPU" the same for the backends process.',
    '- From the issue that asked for this bench (same method, another day): haproxy 0.72× direct, nginx 0.64×, the minimal ' +
      'Node forwarder 0.30× (158 µs CPU/request).',
  ];
}

function renderMedians({ result, summary }: ProxyReport): string[] {
  return table(
    ['', 'req/s', 'p50', 'p99', 'Proxy CPU per request', 'Backends CPU per request', '÷ direct (req/s)', 'Failed requests (all rounds)'],
    result.measured.map((id) => {
      const run = summary.medians[id]!;
      return [
        LABELS[id],
        perSecond(run.requestsPerSecond),
        ms(run.p50Ms),
        ms(run.p99Ms),
        id === 'direct' ? '(no proxy)' : microseconds(run.cpuUsPerRequest),
        microseconds(run.backendsCpuUsPerRequest),
        ratio(summary.vsDirect[id]!),
        failures(run),
      ];
    }),
  );
}

function renderBeaconRatios(summary: ProxySummary): string[] {
  const measured = COMPARED.filter((id) => summary.beaconVs[id] !== undefined);
  return table(
    ['`beacon proxy` ÷', 'req/s', 'p50', 'p99', 'Proxy CPU per request'],
    measured.map((id) => {
      const ratios: LoadRatios = summary.beaconVs[id]!;
      return [SHORT[id], ratio(ratios.requestsPerSecond), ratio(ratios.p50), ratio(ratios.p99), ratios.cpuPerRequest === undefined ? '–' : ratio(ratios.cpuPerRequest)];
    }),
  );
}

function renderPolicyRatios({ policyVsNone }: ProxySummary): string[] {
  if (policyVsNone === undefined) return ['Not measured.'];
  const { requestsPerSecond, p50, p99, cpuPerRequest } = policyVsNone;
  return table(['with ÷ without', 'req/s', 'p50', 'p99', 'Proxy CPU per request'], [['`beacon proxy`', ratio(requestsPerSecond), ratio(p50), ratio(p99), cpuPerRequest === undefined ? '–' : ratio(cpuPerRequest)]]);
}

function renderRounds(result: ProxyBenchResult): string[] {
  return table(
    ['Round', 'Contender', 'req/s', 'p50', 'p99', 'Proxy CPU', 'Backends CPU', '÷ direct', 'Failed'],
    result.rounds.flatMap((round, index) =>
      result.measured.map((id) => {
        const run = round[id]!;
        return [
          String(index + 1),
          SHORT[id],
          perSecond(run.requestsPerSecond),
          ms(run.p50Ms),
          ms(run.p99Ms),
          microseconds(run.cpuUsPerRequest),
          microseconds(run.backendsCpuUsPerRequest),
          ratio(run.requestsPerSecond / round.direct!.requestsPerSecond),
          failures(run),
        ];
      }),
    ),
  );
}

function renderRoundRatios(result: ProxyBenchResult): string[] {
  const compared = COMPARED.filter((id) => result.measured.includes(id));
  const withCpu = (id: Compared) => id === 'dispatch' || id === 'dispatchHeaders';
  const columns = (id: Compared) =>
    id === 'minimal' ? [`÷ ${SHORT[id]} req/s`, `÷ ${SHORT[id]} p99`] : withCpu(id) ? [`÷ ${SHORT[id]} req/s`, `÷ ${SHORT[id]} CPU`] : [`÷ ${SHORT[id]} req/s`];
  const policy = result.measured.includes('beaconPolicy');
  return table(
    ['Round', ...compared.flatMap(columns), ...(policy ? ['policy ÷ none req/s'] : [])],
    result.rounds.map((round, index) => [
      String(index + 1),
      ...compared.flatMap((id) => {
        const ratios = beaconRatios(round, id)!;
        if (id === 'minimal') return [ratio(ratios.requestsPerSecond), ratio(ratios.p99)];
        if (withCpu(id)) return [ratio(ratios.requestsPerSecond), ratios.cpuPerRequest === undefined ? '–' : ratio(ratios.cpuPerRequest)];
        return [ratio(ratios.requestsPerSecond)];
      }),
      ...(policy ? [ratio(round.beaconPolicy!.requestsPerSecond / round.beacon!.requestsPerSecond)] : []),
    ]),
  );
}

function failures(run: ContenderRun): string {
  return run.failures === 0 ? '0' : `**${run.failures.toLocaleString('en-US')}**`;
}
