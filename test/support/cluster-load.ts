import assert from 'node:assert/strict';
import { EtcdClient } from '../../server/store/etcd/etcd-client.js';
import { queryPacket, udpExchange } from './dns.js';
import type { EtcdCluster } from './etcd-cluster.js';
import { waitFor } from './events.js';
import { client } from './http.js';
import { scrape } from './metrics.js';
import type { ServerProcess } from './server-process.js';

/** The instances a node has expired (its `beacon_expirations_total`). */
export const expirations = async (node: ServerProcess) => (await scrape(node.url, 'beacon_expirations_total')).get('') ?? 0;

/**
 * `total` registrations spread over the nodes, four at a time (bounded by 30 s), while DNS is
 * asked at every node; `failure` runs once `failAfter` were sent. Counted rather than timed, so a
 * slow machine gets the same load. Returns what was acknowledged, how long after the failure the
 * next write was acknowledged, and how many DNS questions went unanswered.
 */
export async function underLoad(nodes: ServerProcess[], total: number, failAfter: number, failure: () => Promise<unknown>) {
  const acknowledged = new Set<string>();
  let failedAt: number | undefined;
  let failing: Promise<unknown> | undefined;
  let firstWriteAfterFailureMs: number | undefined;
  let dnsMisses = 0;
  let dnsAsked = 0;
  const until = Date.now() + 30_000;
  let sent = 0;
  let done = false;
  const writers = Array.from({ length: 4 }, async (_, worker) => {
    for (let i = 0; Date.now() < until && sent < total; i++) {
      sent += 1;
      if (!failing && sent >= failAfter) {
        failedAt = Date.now();
        failing = failure();
      }
      const id = `l${worker}-${i}`;
      const answer = await client(nodes[(worker + i) % nodes.length]!.url).register('load', id, { ttl: 60 }).catch(() => undefined);
      if (answer && answer.status >= 200 && answer.status < 300) {
        acknowledged.add(id);
        if (failedAt !== undefined && firstWriteAfterFailureMs === undefined && Date.now() > failedAt) firstWriteAfterFailureMs = Date.now() - failedAt;
      }
    }
  });
  const askers = nodes.map(async (node) => {
    while (!done && Date.now() < until) {
      dnsAsked += 1;
      if (!(await udpExchange(node.dnsPort, queryPacket('load.service.beacon.internal', 'A'), 2_000))) dnsMisses += 1;
    }
  });
  await Promise.all(writers);
  done = true;
  await Promise.all(askers);
  await failing;
  return { acknowledged, firstWriteAfterFailureMs, dnsMisses, dnsAsked };
}

/** Every acknowledged registration is in etcd and in every node's view. */
export async function assertAllKept(etcd: EtcdCluster, prefix: string, nodes: ServerProcess[], acknowledged: Set<string>): Promise<void> {
  const etcdClient = new EtcdClient({ endpoints: etcd.clientUrls });
  const stored = new Set((await etcdClient.get(`${prefix}instances/load/`)).kvs.map((kv) => kv.key.slice(`${prefix}instances/load/`.length)));
  await etcdClient.close();
  for (const node of nodes) {
    const view = await waitFor(async () => {
      const ids = new Set((await client(node.url).instances('load')).body.map((instance: { id: string }) => instance.id));
      return [...acknowledged].every((id) => ids.has(id)) ? ids : undefined;
    }, { what: `every acknowledged registration in ${node.url}'s view` });
    assert.ok(view.size >= acknowledged.size);
  }
  const lost = [...acknowledged].filter((id) => !stored.has(id));
  assert.deepEqual(lost, [], 'every acknowledged registration is in etcd');
}

