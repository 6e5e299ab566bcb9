import { Agent } from 'node:http';
import type { EtcdCluster } from '../../test/support/local-etcd.js';
import { DOMAIN } from '../dns-fleet.js';
import { sendRequest } from '../support/beacon-http.js';
import { dnsPortOf } from '../support/beacon-process.js';
import type { ClusterBenchSettings } from './cluster-bench.js';
import { DnsAsker } from './dns-asker.js';
import { LASTING_BODY, withTwoNodes } from './nodes.js';

export interface Propagation {
  /** From sending the registration to node A until node B's SRV answer held it, in ms, ascending; a miss is Infinity. */
  seenMs: number[];
  /** How long A took to acknowledge each registration (201), in ms, ascending. */
  acknowledgedMs: number[];
  /** Trials where B never answered with the instance within the bound. */
  missed: number;
}

/** A trial's bound: past it the change counts as not seen. */
export const PROPAGATION_BOUND_MS = 2_000;
const POLL_PAUSE_MS = 1;
const QUERY_TIMEOUT_MS = 500;
/** Untimed trials first, so neither node's JIT is cold for the timed ones. */
export const PROPAGATION_WARMUP_TRIALS = 10;

/**
 * Registers a new instance at node A, each trial in a service of its own, and from the moment
 * the request is sent asks node B for that service's SRV records over UDP, again every
 * millisecond or so, until an answer holds a record; the delay is until that answer arrived.
 */
export async function measurePropagation(etcd: EtcdCluster, settings: ClusterBenchSettings): Promise<Propagation> {
  return withTwoNodes(etcd, '/bench-propagation/', settings.cpus.server, async (a, b) => {
    const asker = await DnsAsker.open(dnsPortOf(b));
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    const seenMs: number[] = [];
    const acknowledgedMs: number[] = [];
    try {
      for (let trial = 0; trial < PROPAGATION_WARMUP_TRIALS + settings.propagationTrials; trial++) {
        const service = `seen-${trial}`;
        const sentAt = performance.now();
        const acknowledged = sendRequest(agent, 'PUT', `${a.url}/v1/services/${service}/instances/i-0`, { body: LASTING_BODY }).then((answer) => {
          if (answer.status !== 201) throw new Error(`registering ${service} at node A answered ${answer.status}: ${answer.text}`);
          return performance.now() - sentAt;
        });
        acknowledged.catch(() => undefined); // awaited below: a refusal must not go unhandled while B is polled
        const seen = await firstAnswerHolding(asker, `${service}.service.${DOMAIN}`, sentAt + PROPAGATION_BOUND_MS);
        const ack = await acknowledged;
        if (trial < PROPAGATION_WARMUP_TRIALS) continue;
        seenMs.push(seen === undefined ? Number.POSITIVE_INFINITY : seen - sentAt);
        acknowledgedMs.push(ack);
      }
    } finally {
      asker.close();
      agent.destroy();
    }
    const ascending = (values: number[]) => values.sort((x, y) => x - y);
    return { seenMs: ascending(seenMs), acknowledgedMs: ascending(acknowledgedMs), missed: seenMs.filter((ms) => ms === Number.POSITIVE_INFINITY).length };
  });
}

/** When an SRV answer for `name` first held a record, or undefined if none did by `deadline`. */
async function firstAnswerHolding(asker: DnsAsker, name: string, deadline: number): Promise<number | undefined> {
  while (performance.now() < deadline) {
    const asked = await asker.ask(name, 'SRV', QUERY_TIMEOUT_MS);
    if (asked?.noError && asked.answers > 0) return performance.now();
    await new Promise((resolve) => setTimeout(resolve, POLL_PAUSE_MS));
  }
  return undefined;
}
