import { join } from 'node:path';
import type { EtcdCluster } from '../../test/support/local-etcd.js';
import { type DnsLoadResult, measureBeaconPeak } from '../dns.js';
import { SMALL_INSTANCES, smallRegistration } from '../dns-fleet.js';
import { registerInstances } from '../support/beacon-http.js';
import { beaconNodeStart, beaconStart } from '../support/beacon-process.js';
import { type ProcessStart, withListeningProcess } from '../support/listening-process.js';
import { inTurns } from '../support/turns.js';
import type { ClusterBenchSettings } from './cluster-bench.js';

export interface DnsQpsRound {
  sqlite: DnsLoadResult;
  cluster: DnsLoadResult;
}

/**
 * The DNS section's method (dnsperf at full load over its 100-instance registry, after a
 * discarded warm-up) against a fresh SQLite node and a fresh cluster node holding the same
 * instances, back to back, which first alternating from round to round.
 */
export async function dnsQpsRound(etcd: EtcdCluster, settings: ClusterBenchSettings, queryFile: string, round: number): Promise<DnsQpsRound> {
  const measure = (start: ProcessStart) =>
    withListeningProcess(start, async (server) => {
      await registerInstances(server.url, SMALL_INSTANCES, settings.connections, smallRegistration);
      return measureBeaconPeak(settings.dns, server, queryFile);
    });
  const sqliteSide = () => measure(beaconStart(join(settings.workDir, `cluster-dns-${round}.db`), settings.cpus.server));
  const clusterSide = () => measure(beaconNodeStart(etcd.clientUrls, `/bench-dns-${round}/`, 'bench-a', settings.cpus.server));
  const [sqlite, cluster] = await inTurns(round, sqliteSide, clusterSide);
  return { sqlite, cluster };
}
