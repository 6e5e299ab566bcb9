import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { beaconProxyStart } from '../support/beacon-process.js';
import { type CpuPlan, onCpu } from '../support/cpu.js';
import { freePort } from '../support/free-port.js';
import { type ProcessStart, withListeningProcess } from '../support/listening-process.js';
import { haproxyIsInstalled, haproxyStart } from './haproxy.js';
import { POLICY_SERVICE, SERVICE, SPLIT_MAIN_GROUP } from './upstreams.js';

/** Everything the proxy bench sends load to, in the order each round measures them. */
export const CONTENDER_IDS = ['direct', 'minimal', 'dispatch', 'dispatchHeaders', 'beacon', 'beaconPolicy', 'httpProxy', 'haproxy'] as const;
export type ContenderId = (typeof CONTENDER_IDS)[number];

/** What a contender is while it runs. */
export interface Target {
  url: string;
  /** The forwarding process, whose CPU per request is measured; none when wrk goes straight to a backend. */
  pid?: number;
  /**
   * How many backends must answer through it: all of them for a proxy, one for direct, the
   * split's main group for the policy (its small share may or may not come up in a check).
   */
  backends: number;
  /** `beacon proxy`'s admin listener, for its own count of answers. */
  adminUrl?: string;
}

export interface Contender {
  id: ContenderId;
  /** Its row in the report. */
  label: string;
  /** Runs `work` against a fresh process of the contender (direct starts nothing), stopped afterwards. */
  run<T>(work: (target: Target) => Promise<T>): Promise<T>;
}

export interface ContenderSetup {
  /** The backends' URLs, in registration order. */
  backends: readonly string[];
  /** The registry `beacon proxy` learns the backends from. */
  registry: string;
  cpus: CpuPlan;
  /** Where haproxy's generated configuration goes. */
  workDir: string;
  /** The index the registry answered the policy's PUT with: `beacon proxy` with the policy is measured once it shows it. */
  policyIndex: number;
}

export const LABELS: Record<ContenderId, string> = {
  direct: 'Direct to one backend (no proxy)',
  minimal: 'Minimal Node forwarder (node:http + undici Pool)',
  dispatch: 'undici dispatch forwarder (node:http + undici Pool.dispatch)',
  dispatchHeaders: 'undici dispatch forwarder + forwarding headers (x-request-id, X-Forwarded-For/-Proto, Via)',
  beacon: '`beacon proxy` (breakers and metrics on)',
  beaconPolicy: '`beacon proxy` with a policy in force (split 90/10, outlier, retry budget)',
  httpProxy: 'http-proxy (npm)',
  haproxy: 'haproxy (Debian, 1 thread)',
};

const MINIMAL_FORWARDER = fileURLToPath(new URL('./minimal-forwarder.js', import.meta.url));
const DISPATCH_FORWARDER = fileURLToPath(new URL('./dispatch-forwarder.js', import.meta.url));
const HTTP_PROXY_FORWARDER = fileURLToPath(new URL('./http-proxy-forwarder.js', import.meta.url));

/** The contenders this machine can run, each on the server CPU; haproxy only when installed. */
export function contenders(setup: ContenderSetup): Contender[] {
  const { backends, cpus } = setup;
  const nodeScript = (script: string, name: string, flags: string[] = []): ProcessStart => {
    const [command, args] = onCpu(cpus.server, process.execPath, [script, ...flags, ...backends]);
    return { command, args, listeningLine: new RegExp(`${name} listening on (http://\\S+)`), name };
  };
  const all: Contender[] = [
    { id: 'direct', label: LABELS.direct, run: (work) => work({ url: backends[0]!, backends: 1 }) },
    processContender('minimal', nodeScript(MINIMAL_FORWARDER, 'minimal forwarder'), backends.length),
    processContender('dispatch', nodeScript(DISPATCH_FORWARDER, 'dispatch forwarder'), backends.length),
    processContender('dispatchHeaders', nodeScript(DISPATCH_FORWARDER, 'dispatch forwarder with forwarding headers', ['--forwarding-headers']), backends.length),
    {
      id: 'beacon',
      label: LABELS.beacon,
      run: (work) =>
        withListeningProcess(beaconProxyStart(setup.registry, SERVICE, cpus.server), (proxy) =>
          work({ url: proxy.url, pid: proxy.pid, backends: backends.length, adminUrl: proxy.captures[1]! }),
        ),
    },
    {
      id: 'beaconPolicy',
      label: LABELS.beaconPolicy,
      run: (work) =>
        withListeningProcess(beaconProxyStart(setup.registry, POLICY_SERVICE, cpus.server), async (proxy) => {
          const adminUrl = proxy.captures[1]!;
          await policyApplied(adminUrl, setup.policyIndex);
          return work({ url: proxy.url, pid: proxy.pid, backends: SPLIT_MAIN_GROUP, adminUrl });
        }),
    },
    processContender('httpProxy', nodeScript(HTTP_PROXY_FORWARDER, 'http-proxy'), backends.length),
  ];
  if (!haproxyIsInstalled()) return all;
  return [
    ...all,
    {
      id: 'haproxy',
      label: LABELS.haproxy,
      run: async (work) => {
        const port = await freePort();
        const start = haproxyStart(join(setup.workDir, 'haproxy.cfg'), port, backends, cpus.server);
        // haproxy announces no URL; it listens where the configuration says.
        return withListeningProcess(start, (haproxy) => work({ url: `http://127.0.0.1:${port}`, pid: haproxy.pid, backends: backends.length }));
      },
    },
  ];
}

/** How long a started `beacon proxy` may take to show the policy's index (it waits up to 5 s for it itself). */
const POLICY_WAIT_MS = 10_000;

/** Resolves once `beacon proxy`'s `/stats` shows a traffic policy at `index` or later: from then on it follows the policy. */
async function policyApplied(adminUrl: string, index: number): Promise<void> {
  const giveUpAt = Date.now() + POLICY_WAIT_MS;
  for (;;) {
    const stats = (await (await fetch(`${adminUrl}/stats`)).json()) as { trafficPolicy?: { index?: number } };
    const shown = stats.trafficPolicy?.index ?? 0;
    if (shown >= index) return;
    if (Date.now() >= giveUpAt) throw new Error(`beacon proxy shows traffic policy index ${shown} after ${POLICY_WAIT_MS} ms; the PUT answered ${index}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

function processContender(id: ContenderId, start: ProcessStart, backends: number): Contender {
  return { id, label: LABELS[id], run: (work) => withListeningProcess(start, (server) => work({ url: server.url, pid: server.pid, backends })) };
}
