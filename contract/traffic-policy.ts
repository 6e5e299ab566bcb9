import { z } from 'zod';
import { ServiceName, Tag } from './instance.js';

/**
 * A service's traffic policy (SPEC: Traffic policy): how every `beacon proxy` in front of the
 * service balances, retries, ejects and splits. Kept in the registry as the user wrote it
 * (durations stay text, so GET gives back what PUT sent); each proxy turns it into numbers with
 * `durationOf`. Every field is optional: a proxy's flags fill in what a policy leaves out.
 * Where the SPEC is silent the semantics are Envoy's (docs/proxy.md says which).
 */

export const BALANCING = ['weighted-round-robin', 'least-request', 'random', 'ring-hash'] as const;
export type Balancing = (typeof BALANCING)[number];

/** `gateway-error` is 502, 503 and 504; `retriable-4xx` is 409; `5xx` is any 5xx (Envoy's retry_on). */
export const RETRY_ON = ['connect-failure', 'reset', 'gateway-error', '5xx', 'retriable-4xx'] as const;
export type RetryOn = (typeof RETRY_ON)[number];

const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };
const DURATION = /^(\d{1,9})(ms|s|m|h)$/;
/** The longest duration any policy field takes: a day. */
const MAX_DURATION_MS = 86_400_000;

/** Milliseconds of a duration a policy holds (already validated: `15s`, `250ms`, `5m`, `1h`). */
export function durationOf(text: string): number {
  const [, amount, unit] = DURATION.exec(text)!;
  return Number(amount) * UNIT_MS[unit!]!;
}

/** A duration with its unit (`25ms`, `15s`, `5m`, `1h`), between `minMs` and a day. */
function duration(minMs: number) {
  return z
    .string()
    .regex(DURATION, { message: 'must be a duration with a unit, such as 250ms, 15s, 5m or 1h', abort: true })
    .refine((text) => durationOf(text) >= minMs && durationOf(text) <= MAX_DURATION_MS, `must be between ${minMs}ms and 24h`);
}

function integer(min: number, max: number) {
  return z.number().int('must be an integer').min(min, `must be ${min}-${max}`).max(max, `must be ${min}-${max}`);
}

/** An HTTP header name (RFC 9110 §5.1 token), matched without regard to case. */
const HeaderName = z
  .string()
  .regex(/^[!#$%&'*+.^_`|~0-9A-Za-z-]{1,128}$/, 'must be an HTTP header name (letters, digits and !#$%&\'*+.^_`|~-), 1-128 characters');

/** A cookie name (RFC 6265 §4.1.1 token). */
const CookieName = z.string().regex(/^[!#$%&'*+.^_`|~0-9A-Za-z-]{1,128}$/, 'must be a cookie name (letters, digits and !#$%&\'*+.^_`|~-), 1-128 characters');

const HashOn = z
  .strictObject({ header: HeaderName.optional(), cookie: CookieName.optional() })
  .refine((hashOn) => (hashOn.header === undefined) !== (hashOn.cookie === undefined), 'must name exactly one of header or cookie');

const Retries = z.strictObject({
  count: integer(0, 10).optional().describe('further tries after the first, each to another instance'),
  on: z
    .array(z.enum(RETRY_ON, { error: `must be one of ${RETRY_ON.join(', ')}` }))
    .max(RETRY_ON.length)
    .refine((on) => new Set(on).size === on.length, 'must not repeat a class')
    .optional()
    .describe('what is retried: connect-failure, reset, gateway-error (502/503/504), 5xx, retriable-4xx (409)'),
  budgetPercent: integer(0, 100).optional().describe("retries in flight at most this percent of the requests in flight (Envoy's retry budget; at least 3 are always allowed)"),
  backoff: z
    .strictObject({ base: duration(1).optional(), max: duration(1).optional() })
    .refine((backoff) => !backoff.base || !backoff.max || durationOf(backoff.max) >= durationOf(backoff.base), { message: 'must not be shorter than base', path: ['max'] })
    .optional(),
});

const Outlier = z
  .strictObject({
    consecutiveFailures: integer(1, 1000).optional().describe('failures of any kind in a row that eject an instance'),
    consecutiveGatewayErrors: integer(1, 1000).optional().describe('502, 503 or 504 answers (and connect failures) in a row that eject an instance'),
    baseEjectionTime: duration(1).optional().describe('first ejection; the n-th lasts n times as long'),
    maxEjectionTime: duration(1).optional().describe('longest ejection'),
    maxEjectionPercent: integer(0, 100).optional().describe('most instances ejected at once, in percent (at least one may always be)'),
  })
  .refine((o) => !o.baseEjectionTime || !o.maxEjectionTime || durationOf(o.maxEjectionTime) >= durationOf(o.baseEjectionTime), {
    message: 'must not be shorter than baseEjectionTime',
    path: ['maxEjectionTime'],
  });

const Limits = z.strictObject({
  maxConnections: integer(1, 1_000_000).optional().describe('connections open to one instance at most'),
  maxPendingRequests: integer(0, 1_000_000).optional().describe('requests waiting for a connection to one instance at most; past it 503 overflow'),
});

const SplitShare = z.strictObject({ tag: Tag, weight: integer(0, 10_000) });

const FailoverTarget = z.union([z.strictObject({ tag: Tag }), z.strictObject({ service: ServiceName })], {
  error: 'each entry must be {"tag": "..."} or {"service": "..."}',
});

export const TrafficPolicy = z
  .strictObject({
    balancing: z.enum(BALANCING, { error: `must be one of ${BALANCING.join(', ')}` }).optional(),
    hashOn: HashOn.optional().describe('what ring-hash balancing hashes: a request header or a cookie'),
    timeout: duration(1).optional().describe('a hard bound over all tries, connecting included'),
    tryTimeout: duration(1).optional().describe('one try: connecting and waiting for response headers'),
    retries: Retries.optional(),
    outlier: Outlier.optional(),
    panicThreshold: integer(0, 100).optional().describe('percent: below this share of usable instances, balance over all healthy ones'),
    slowStart: duration(0).optional().describe('a new or returning instance ramps up to its full weight over this time'),
    limits: Limits.optional(),
    split: z
      .array(SplitShare)
      .min(1, 'must list at least one tag')
      .max(16, 'must list at most 16 tags')
      .refine((split) => new Set(split.map((share) => share.tag)).size === split.length, 'must not repeat a tag')
      .refine((split) => split.some((share) => share.weight > 0), 'must give at least one tag a weight above 0')
      .optional()
      .describe('shares of requests by instance tag (weights are relative)'),
    failover: z.array(FailoverTarget).min(1, 'must list at least one target').max(8, 'must list at most 8 targets').optional().describe('where requests go, in order, when nothing usable remains'),
  })
  .superRefine((policy, context) => {
    if (policy.balancing === 'ring-hash' && !policy.hashOn) {
      context.addIssue({ code: 'custom', path: ['hashOn'], message: 'is required when balancing is ring-hash' });
    }
    if (policy.hashOn && policy.balancing !== 'ring-hash') {
      context.addIssue({ code: 'custom', path: ['hashOn'], message: 'applies only to balancing ring-hash: set "balancing": "ring-hash"' });
    }
    if (policy.timeout && policy.tryTimeout && durationOf(policy.tryTimeout) > durationOf(policy.timeout)) {
      context.addIssue({ code: 'custom', path: ['tryTimeout'], message: 'must not be longer than timeout' });
    }
  })
  .describe("A service's traffic policy: every beacon proxy in front of the service follows it");
export type TrafficPolicy = z.infer<typeof TrafficPolicy>;
