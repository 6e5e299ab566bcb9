import { Etcd3 } from 'etcd3';
import type { EtcdCluster } from '../../test/support/local-etcd.js';
import { beaconNodeStart } from '../support/beacon-process.js';
import { REGISTRATION } from '../support/fleet.js';
import { type ListeningProcess, withListeningProcess } from '../support/listening-process.js';

/** A registration that outlives any measurement, so nothing needs to heartbeat and nothing expires. */
export const LASTING_BODY = JSON.stringify({ ...REGISTRATION, ttl: 3_600 });

/**
 * Two fresh nodes of one registry (`prefix`, fresh per measurement so none sees another's
 * instances), both on `cpu`; both are stopped however `work` ends.
 */
export function withTwoNodes<T>(
  etcd: EtcdCluster,
  prefix: string,
  cpu: number | undefined,
  work: (a: ListeningProcess, b: ListeningProcess) => Promise<T>,
): Promise<T> {
  return withListeningProcess(beaconNodeStart(etcd.clientUrls, prefix, 'bench-a', cpu), (a) =>
    withListeningProcess(beaconNodeStart(etcd.clientUrls, prefix, 'bench-b', cpu), (b) => work(a, b)),
  );
}

/** etcd's own count of committed proposals (every member commits each; the leader's is read). */
export async function proposals(etcd: EtcdCluster): Promise<number> {
  const leader = await etcd.leader();
  const text = await (await fetch(`${leader.clientUrl}/metrics`)).text();
  const match = /^etcd_server_proposals_committed_total (\S+)$/m.exec(text);
  if (!match) throw new Error(`etcd ${leader.clientUrl}/metrics has no etcd_server_proposals_committed_total`);
  return Number(match[1]);
}

/** What etcd holds under `prefix` (bench's own check that writes landed): the key count and one value. */
export async function storedUnder(etcd: EtcdCluster, prefix: string): Promise<{ keys: number; sampleBytes: number }> {
  const client = new Etcd3({ hosts: etcd.clientUrls });
  try {
    const keys = await client.getAll().prefix(prefix).count();
    const sample = await client.getAll().prefix(prefix).limit(1).buffers();
    return { keys, sampleBytes: Object.values(sample)[0]?.length ?? 0 };
  } finally {
    client.close();
  }
}
