import { fileURLToPath } from 'node:url';
import type { EtcdCluster } from '../../test/support/local-etcd.js';
import { onCpu } from '../support/cpu.js';
import type { ListeningProcess } from '../support/listening-process.js';
import { processCpuMs } from '../support/process-cpu.js';
import { runToExit } from '../support/run-to-exit.js';
import { max, sum } from '../support/stats.js';
import { inTurns } from '../support/turns.js';
import { runWrk } from '../support/wrk.js';
import { registrationLoad } from '../registry-http.js';
import type { BareWriterResult } from './bare-etcd-writer.js';
import type { ClusterBenchSettings } from './cluster-bench.js';
import { storedUnder, withTwoNodes } from './nodes.js';

/** Registrations a second and their latency; for Beacon the worse of the two nodes' latencies. */
export interface RegistrationRate {
  /** Acknowledged registrations a second (refused ones are not counted). */
  requestsPerSecond: number;
  p50Ms: number;
  p99Ms: number;
  /** Registrations answered with an error, or not within the client's timeout. */
  failures: number;
  /** CPU time per acknowledged registration: both nodes together, or the bare client's process. */
  cpuUsPerRequest?: number;
  /** The size of one instance record as stored in etcd. */
  valueBytes: number;
}

/** Past Beacon's own 2 s etcd deadline (then it answers 503, which counts as a failure). */
const CLIENT_TIMEOUT_SECONDS = 10;

export interface RegistrationRound {
  beacon: RegistrationRate;
  bare: RegistrationRate;
}

const BARE_WRITER = fileURLToPath(new URL('./bare-etcd-writer.js', import.meta.url));

/**
 * Fresh registrations through two nodes (one wrk each, half the connections each, at once)
 * against a bare etcd3 client committing the same transaction with as many in flight, each on a
 * fresh prefix of the same etcd; which goes first alternates from round to round.
 */
export async function registrationRound(etcd: EtcdCluster, settings: ClusterBenchSettings, round: number): Promise<RegistrationRound> {
  const beaconSide = () => throughTwoNodes(etcd, settings, `/bench-registrations-${round}/`);
  const bareSide = () => bareClient(etcd, settings, `/bench-bare-${round}/`);
  const [beacon, bare] = await inTurns(round, beaconSide, bareSide);
  return { beacon, bare };
}

async function throughTwoNodes(etcd: EtcdCluster, settings: ClusterBenchSettings, prefix: string): Promise<RegistrationRate> {
  return withTwoNodes(etcd, prefix, settings.cpus.server, async (a, b) => {
    const half = { ...settings, connections: settings.connections / 2 };
    const load = (node: ListeningProcess, tag: string, seconds: number) => ({
      ...registrationLoad(node, half, seconds, tag),
      timeoutSeconds: CLIENT_TIMEOUT_SECONDS,
      countFailures: true,
    });
    await Promise.all([runWrk(load(a, 'wa', settings.warmupSeconds)), runWrk(load(b, 'wb', settings.warmupSeconds))]);
    const before = await storedUnder(etcd, `${prefix}instances/`);
    const cpuBefore = [processCpuMs(a.pid), processCpuMs(b.pid)];
    const results = await Promise.all([runWrk(load(a, 'a', settings.registrationSeconds)), runWrk(load(b, 'b', settings.registrationSeconds))]);
    const cpuAfter = [processCpuMs(a.pid), processCpuMs(b.pid)];
    const after = await storedUnder(etcd, `${prefix}instances/`);
    const acknowledged = sum(results.map((result) => result.requests - (result.failures ?? 0)));
    // wrk's 2xx count only says a node answered; etcd's key count says each answer was a new instance.
    if (after.keys - before.keys < acknowledged) throw new Error(`wrk saw ${acknowledged} registrations acknowledged but etcd holds only ${after.keys - before.keys} more instances`);
    const cpuMs = [...cpuBefore, ...cpuAfter].every((ms) => ms !== undefined) ? cpuAfter[0]! - cpuBefore[0]! + cpuAfter[1]! - cpuBefore[1]! : undefined;
    return {
      requestsPerSecond: sum(results.map((result) => (result.requestsPerSecond * (result.requests - (result.failures ?? 0))) / result.requests)),
      p50Ms: max(results.map((result) => result.p50Ms)),
      p99Ms: max(results.map((result) => result.p99Ms)),
      failures: sum(results.map((result) => result.failures ?? 0)),
      ...(cpuMs === undefined ? {} : { cpuUsPerRequest: (cpuMs * 1000) / acknowledged }),
      valueBytes: after.sampleBytes,
    };
  });
}

/** The writer runs where wrk runs: both are what puts the load on etcd. */
async function bareClient(etcd: EtcdCluster, settings: ClusterBenchSettings, prefix: string): Promise<RegistrationRate> {
  // The nodes talk to the first endpoint while it answers (server/store/etcd/endpoints.ts): so does the writer.
  const writerArgs = [BARE_WRITER, etcd.clientUrls[0]!, prefix, String(settings.connections), String(settings.warmupSeconds), String(settings.registrationSeconds), String(settings.fleet.services)];
  const [command, args] = onCpu(settings.cpus.loadGenerator, process.execPath, writerArgs);
  const { code, output } = await runToExit(command, args, (settings.warmupSeconds + settings.registrationSeconds + 30) * 1000);
  if (code !== 0) throw new Error(`the bare etcd3 writer exited with ${code}:\n${output}`);
  const result = JSON.parse(output) as BareWriterResult;
  const stored = await storedUnder(etcd, `${prefix}instances/`);
  if (stored.keys < result.requests) throw new Error(`the bare writer committed ${result.requests} registrations but etcd holds ${stored.keys}`);
  return { ...result, failures: 0 };
}
