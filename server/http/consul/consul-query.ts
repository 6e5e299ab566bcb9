import type { FastifyReply } from 'fastify';
import { z } from 'zod';
import { durationMs } from '../../../contract/duration.js';
import { MAX_WAIT_MS } from '../blocking.js';

/**
 * Query strings of the Consul-compatible reads. Unlike Beacon's own API these are lenient, as
 * Consul is: clients add parameters Beacon has no use for (`stale`, `consistent`, `cached`,
 * `near`, `ns`...), and refusing them would break discovery for nothing. Only parameters whose
 * meaning Beacon cannot honour are refused, with a message naming them, rather than silently
 * returning a different answer.
 */

/** Consul's boolean flags: `?passing` (no value) and `?passing=true` both mean yes. */
const consulFlag = z
  .string()
  .transform((value) => value === '' || /^(1|t|true)$/i.test(value))
  .optional();

const unsupported = (why: string) => z.never({ error: `is not supported by Beacon's Consul-compatible API: ${why}` }).optional();

const defaultOnly = z.enum(['', 'default'], { error: 'must be default: Beacon has no namespaces or admin partitions' }).optional();

export function consulQuery(datacenter: string) {
  return z.object({
    index: z.string().regex(/^\d{1,15}$/, 'must be a non-negative integer').transform(Number).optional().describe('Block until X-Consul-Index passes this value'),
    // Consul caps a wait at 10 minutes rather than refusing a longer one; Beacon caps it at its own maximum.
    wait: durationMs()
      .transform((ms) => Math.min(ms, MAX_WAIT_MS))
      .optional()
      .describe(`How long to block with index, e.g. 120000ms (at most ${MAX_WAIT_MS / 1000}s)`),
    dc: z
      .string()
      .refine((value) => value === '' || value === datacenter, `must be ${datacenter}: the only datacenter this registry serves (--datacenter)`)
      .optional(),
    stale: consulFlag.describe('Accepted: every Beacon answer is consistent'),
    consistent: consulFlag,
    cached: consulFlag,
    token: z.string().optional().describe('ACL token, for clients that cannot send X-Consul-Token (python-consul)'),
    near: z.string().optional().describe('Accepted and ignored: Beacon has no network coordinates'),
    ns: defaultOnly,
    partition: defaultOnly,
    filter: unsupported('filter expressions; filter with tag or in the client (Prometheus relabel_configs)'),
    'node-meta': unsupported('Beacon has no nodes, so no node metadata to filter on'),
  });
}

/** `/v1/health/service` and `/v1/catalog/service` also filter by tag (all must match) and `passing`. */
export function consulServiceQuery(datacenter: string) {
  return consulQuery(datacenter).extend({
    tag: z
      .union([z.string(), z.array(z.string())])
      .transform((value) => (Array.isArray(value) ? value : [value]))
      .optional()
      .describe('Keep instances carrying this tag; repeat for several'),
    passing: consulFlag.describe('Only instances whose checks all pass (no warning, no maintenance)'),
  });
}

/**
 * Consul's answer headers. Clients refuse an answer without X-Consul-Index (and treat index 0
 * as "do not block", looping hot), so it is always there and at least 1. There is one server
 * and it is its own leader: KnownLeader true, LastContact 0.
 */
export function setConsulHeaders(reply: FastifyReply, index: number): void {
  reply.header('x-consul-index', String(Math.max(1, index)));
  reply.header('x-consul-knownleader', 'true');
  reply.header('x-consul-lastcontact', '0');
}
