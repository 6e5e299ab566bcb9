import { fileURLToPath } from 'node:url';
import type { EtcdCluster } from '../../test/support/local-etcd.js';
import { onCpu } from '../support/cpu.js';
import { runToExit } from '../support/run-to-exit.js';
import { inTurns } from '../support/turns.js';
import { runWrk } from '../support/wrk.js';
import { registrationLoad } from '../registry-http.js';
import type { BareWriterResult } from './bare-etcd-writer.js';
import type { ClusterBenchSettings } from './cluster-bench.js';
import { storedUnder, withTwoNodes } from './nodes.js';

/** Registrations a second and their latency; for Beacon the worse of the two nodes' latencies. */
export interface RegistrationRate {
  requestsPerSecond: number;
  p50Ms: number;
  p99Ms: number;
  /** The size of one instance record as stored in etcd. */
  valueBytes: number;
}

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
    await Promise.all([runWrk(registrationLoad(a, half, settings.warmupSeconds, 'wa')), runWrk(registrationLoad(b, half, settings.warmupSeconds, 'wb'))]);
    const before = await storedUnder(etcd, `${prefix}instances/`);
    const results = await Promise.all([runWrk(registrationLoad(a, half, settings.registrationSeconds, 'a')), runWrk(registrationLoad(b, half, settings.registrationSeconds, 'b'))]);
    const requests = results.reduce((total, result) => total + result.requests, 0);
    const after = await storedUnder(etcd, `${prefix}instances/`);
    // wrk's 2xx count only says a node answered; etcd's key count says each answer was a new instance.
    if (after.keys - before.keys < requests) throw new Error(`wrk completed ${requests} registrations but etcd holds only ${after.keys - before.keys} more instances`);
    return {
      requestsPerSecond: results.reduce((total, result) => total + result.requestsPerSecond, 0),
      p50Ms: Math.max(...results.map((result) => result.p50Ms)),
      p99Ms: Math.max(...results.map((result) => result.p99Ms)),
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
  return { requestsPerSecond: result.requestsPerSecond, p50Ms: result.p50Ms, p99Ms: result.p99Ms, valueBytes: result.valueBytes };
}
