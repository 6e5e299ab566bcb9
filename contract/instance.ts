import { isIP } from 'node:net';
import { z } from 'zod';

/**
 * The registry's vocabulary as zod schemas. HTTP validation, the OpenAPI document, the
 * TypeScript types and (later) the clients all derive from these, so they cannot drift.
 */

/** One DNS label (RFC 1035 §2.3.1, lower case): service names and tags are queried by DNS. */
export const DNS_LABEL = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;

/** What an instance id may contain, and how long it may be (also read by the heartbeat fast path). */
export const INSTANCE_ID_PATTERN = /^[A-Za-z0-9._-]+$/;
export const INSTANCE_ID_MAX_LENGTH = 128;

export const ServiceName = z
  .string()
  .regex(DNS_LABEL, 'must be one lower-case DNS label: a-z, 0-9 and inner hyphens, 1-63 characters')
  .describe('Service name: one DNS label');

export const InstanceId = z
  .string()
  .min(1, 'must not be empty')
  .max(INSTANCE_ID_MAX_LENGTH, `must be at most ${INSTANCE_ID_MAX_LENGTH} characters`)
  .regex(INSTANCE_ID_PATTERN, 'may contain only A-Z, a-z, 0-9, ".", "_" and "-"')
  .describe('Instance id, unique within its service');

export const Tag = z
  .string()
  .regex(DNS_LABEL, 'must be one lower-case DNS label: a-z, 0-9 and inner hyphens, 1-63 characters');

export const HealthStatus = z.enum(['passing', 'warning', 'critical', 'maintenance']);
export type HealthStatus = z.infer<typeof HealthStatus>;

/** The statuses a heartbeat may report; maintenance is set by the operator, never by a check. */
export const CheckStatus = z.enum(['passing', 'warning', 'critical']);
export type CheckStatus = z.infer<typeof CheckStatus>;

export const LIMITS = {
  tags: 32,
  metaPairs: 64,
  metaKeyLength: 128,
  metaValueLength: 512,
  outputLength: 4096,
  reasonLength: 512,
  maxTtlSeconds: 86_400,
} as const;

const Meta = z
  .record(
    z
      .string()
      .min(1, 'meta keys must not be empty')
      .max(LIMITS.metaKeyLength, `meta keys must be at most ${LIMITS.metaKeyLength} characters`)
      .regex(/^[A-Za-z0-9._-]+$/, 'meta keys may contain only A-Z, a-z, 0-9, ".", "_" and "-"'),
    z.string().max(LIMITS.metaValueLength, `must be at most ${LIMITS.metaValueLength} characters`),
  )
  .refine((meta) => Object.keys(meta).length <= LIMITS.metaPairs, `must have at most ${LIMITS.metaPairs} pairs`);

/** What a service sends to register (PUT /v1/services/{service}/instances/{id}). */
export const InstanceRegistration = z.strictObject({
  address: z
    .string()
    .refine((value) => isIP(value) !== 0, 'must be an IPv4 or IPv6 literal')
    .describe('IPv4 or IPv6 literal the instance is reachable at'),
  port: z.number().int('must be an integer').min(1, 'must be 1-65535').max(65535, 'must be 1-65535'),
  weight: z
    .number()
    .int('must be an integer')
    .min(0, 'must be 0-65535')
    .max(65535, 'must be 0-65535')
    .default(1)
    .describe('SRV weight (RFC 2782); 0 is picked only when nothing heavier is left'),
  tags: z
    .array(Tag)
    .max(LIMITS.tags, `must have at most ${LIMITS.tags} tags`)
    .refine((tags) => new Set(tags).size === tags.length, 'must not repeat a tag')
    .default([]),
  meta: Meta.default({}),
  ttl: z
    .number()
    .int('must be an integer')
    .min(1, `must be 1-${LIMITS.maxTtlSeconds} seconds`)
    .max(LIMITS.maxTtlSeconds, `must be 1-${LIMITS.maxTtlSeconds} seconds`)
    .default(15)
    .describe('Seconds without a heartbeat before the instance turns critical'),
  deregisterAfter: z
    .number()
    .int('must be an integer')
    .min(1, 'must be at least 1 second')
    .max(30 * LIMITS.maxTtlSeconds, `must be at most ${30 * LIMITS.maxTtlSeconds} seconds`)
    .default(300)
    .describe('Seconds an instance may stay critical before it is removed'),
});
export type InstanceRegistration = z.infer<typeof InstanceRegistration>;

/** Optional body of a heartbeat. No status means "alive and well": passing. */
export const Heartbeat = z.strictObject({
  status: CheckStatus.optional(),
  output: z
    .string()
    .max(LIMITS.outputLength, `must be at most ${LIMITS.outputLength} characters`)
    .optional()
    .describe('Free text from the health check, shown with the instance'),
});
export type Heartbeat = z.infer<typeof Heartbeat>;

export const MaintenanceChange = z.strictObject({
  enabled: z.boolean(),
  reason: z.string().max(LIMITS.reasonLength, `must be at most ${LIMITS.reasonLength} characters`).optional(),
});
export type MaintenanceChange = z.infer<typeof MaintenanceChange>;

/** An instance as the API shows it. */
export const Instance = z.object({
  service: z.string(),
  id: z.string(),
  address: z.string(),
  port: z.number().int(),
  weight: z.number().int(),
  tags: z.array(z.string()),
  meta: z.record(z.string(), z.string()),
  ttl: z.number().int(),
  deregisterAfter: z.number().int(),
  status: HealthStatus,
  output: z.string(),
  maintenanceReason: z.string().nullable(),
  registeredAt: z.string().describe('ISO 8601'),
  lastHeartbeatAt: z.string().describe('ISO 8601'),
  expiresAt: z.string().describe('ISO 8601: when the instance turns critical without a heartbeat'),
});
export type Instance = z.infer<typeof Instance>;

export const ServiceSummary = z.object({
  name: z.string(),
  instances: z.number().int(),
  passing: z.number().int(),
  warning: z.number().int(),
  critical: z.number().int(),
  maintenance: z.number().int(),
});
export type ServiceSummary = z.infer<typeof ServiceSummary>;
