import { z } from 'zod';
import { ServiceName } from '../../contract/instance.js';

/**
 * ACL vocabulary as zod schemas, for validation, types and the OpenAPI document alike.
 * management: everything, token administration included. service: read everything, and write
 * (register, heartbeat, maintenance, deregister) the services it lists. read: read only.
 */
export const TokenKind = z.enum(['management', 'service', 'read']);
export type TokenKind = z.infer<typeof TokenKind>;

export const TOKEN_LIMITS = { services: 256, descriptionLength: 256 } as const;

export const TokenCreation = z
  .strictObject({
    kind: TokenKind,
    services: z
      .array(ServiceName)
      .max(TOKEN_LIMITS.services, `must list at most ${TOKEN_LIMITS.services} services`)
      .refine((services) => new Set(services).size === services.length, 'must not repeat a service')
      .optional()
      .describe('For kind service: the services the token may write'),
    description: z.string().max(TOKEN_LIMITS.descriptionLength, `must be at most ${TOKEN_LIMITS.descriptionLength} characters`).default(''),
  })
  .superRefine((token, context) => {
    if (token.kind === 'service' && !token.services?.length) {
      context.addIssue({ code: 'custom', path: ['services'], message: 'must list at least one service for a service token' });
    }
    if (token.kind !== 'service' && token.services !== undefined) {
      context.addIssue({ code: 'custom', path: ['services'], message: `only service tokens list services, not ${token.kind} tokens` });
    }
  });
export type TokenCreation = z.infer<typeof TokenCreation>;

/** A token as the API shows it: never its secret. */
export const Token = z.object({
  id: z.string(),
  kind: TokenKind,
  services: z.array(z.string()),
  description: z.string(),
  createdAt: z.string().describe('ISO 8601'),
});
export type Token = z.infer<typeof Token>;

/** The answer to a creation: the only time the secret is shown. */
export const CreatedToken = Token.extend({ secret: z.string().describe('Send as Authorization: Bearer <secret>; shown once') });
export type CreatedToken = z.infer<typeof CreatedToken>;

export const TokenId = z.string().regex(/^[A-Za-z0-9-]{1,64}$/, 'must be a token id: 1-64 of A-Z, a-z, 0-9 and "-"');
