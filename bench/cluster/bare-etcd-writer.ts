/**
 * The baseline of the cluster bench's registrations: a plain etcd3 client, in its own process,
 * committing the transaction EtcdStore commits for a new registration (server/store/etcd/
 * etcd-store.ts): the instance key must not exist yet (mod_revision 0), then the instance's
 * record, its service's index key and the catalog's. `concurrency` transactions in flight, fresh
 * ids spread over the services as wrk/register.lua spreads Beacon's; a warm-up first, under
 * another tag, so both sides start with a warm JIT. Prints its figures as one JSON line.
 *
 * Usage: node bare-etcd-writer.js <endpoint> <prefix> <concurrency> <warmup s> <seconds> <services>
 */
import { Etcd3 } from 'etcd3';
import type { InstanceRecord } from '../../server/registry/instance-record.js';
import { REGISTRATION } from '../support/fleet.js';
import { percentileOfSorted } from '../support/stats.js';

export interface BareWriterResult {
  requests: number;
  requestsPerSecond: number;
  p50Ms: number;
  p99Ms: number;
  /** This process's CPU time per transaction (user + system), the client's whole cost. */
  cpuUsPerRequest: number;
  /** The size of one record written, to compare with what Beacon stores. */
  valueBytes: number;
}

const [endpoint, prefix, concurrency, warmupSeconds, seconds, services] = process.argv.slice(2);
if (!endpoint || !prefix || !services) throw new Error('usage: bare-etcd-writer.js <endpoint> <prefix> <concurrency> <warmup s> <seconds> <services>');

/** The record Beacon stores for a registration of REGISTRATION (its defaults filled in). */
function record(service: string, id: string): InstanceRecord {
  const now = Date.now();
  return {
    service,
    id,
    address: REGISTRATION.address,
    port: REGISTRATION.port,
    weight: 1,
    tags: REGISTRATION.tags,
    meta: REGISTRATION.meta,
    ttlMs: REGISTRATION.ttl * 1000,
    deregisterAfterMs: 600_000,
    checkStatus: 'passing',
    output: '',
    maintenance: false,
    maintenanceReason: null,
    expired: false,
    criticalSince: null,
    registeredAt: now,
    lastHeartbeatAt: now,
  };
}

const etcd = new Etcd3({ hosts: endpoint });
let valueBytes = 0;

async function register(service: string, id: string): Promise<void> {
  const key = `${prefix}instances/${service}/${id}`;
  const value = JSON.stringify(record(service, id));
  valueBytes = Buffer.byteLength(value);
  const result = await etcd
    .if(key, 'Mod', '==', 0)
    .then(etcd.put(key).value(value), etcd.put(`${prefix}index/${service}`).value(''), etcd.put(`${prefix}index/*`).value(''))
    .commit();
  if (!result.succeeded) throw new Error(`${key} already existed: the ids are not fresh`);
}

/** Keeps `concurrency` registrations in flight for `forSeconds`; the latency of each, in ms. */
async function load(tag: string, forSeconds: number): Promise<number[]> {
  const until = performance.now() + forSeconds * 1000;
  const latencies: number[] = [];
  let n = 0;
  const worker = async () => {
    while (performance.now() < until) {
      n += 1;
      const started = performance.now();
      await register(`svc-${n % Number(services)}`, `${tag}-${n}`);
      latencies.push(performance.now() - started);
    }
  };
  await Promise.all(Array.from({ length: Number(concurrency) }, worker));
  return latencies;
}

try {
  await load('w', Number(warmupSeconds));
  const started = performance.now();
  const cpuBefore = process.cpuUsage();
  const latencies = await load('r', Number(seconds));
  const cpu = process.cpuUsage(cpuBefore);
  const elapsed = (performance.now() - started) / 1000;
  const sorted = Float64Array.from(latencies).sort();
  const result: BareWriterResult = {
    requests: latencies.length,
    requestsPerSecond: latencies.length / elapsed,
    p50Ms: percentileOfSorted(sorted, 50),
    p99Ms: percentileOfSorted(sorted, 99),
    cpuUsPerRequest: (cpu.user + cpu.system) / latencies.length,
    valueBytes,
  };
  process.stdout.write(`${JSON.stringify(result)}\n`);
} finally {
  etcd.close();
}
