import type { FastifyReply } from 'fastify';
import { z } from 'zod';
import { durationMs } from '../duration.js';
import type { WaitOutcome } from '../registry/change-index.js';

/**
 * Blocking queries (Consul's semantics): with `?index=N` a list request waits until the
 * list's index passes N, or `wait` runs out, then answers with the current list and index.
 */
export const DEFAULT_WAIT_MS = 60_000;
export const MAX_WAIT_MS = 300_000;
export const INDEX_HEADER = 'x-beacon-index';

export const BlockingQuery = z.strictObject({
  index: z
    .string()
    .regex(/^\d{1,15}$/, 'must be a non-negative integer')
    .transform(Number)
    .optional()
    .describe('Wait until the list\'s X-Beacon-Index passes this value'),
  wait: durationMs()
    .refine((ms) => ms <= MAX_WAIT_MS, `must be at most ${MAX_WAIT_MS / 1000} seconds`)
    .optional()
    .describe(`How long to wait with index (default ${DEFAULT_WAIT_MS / 1000}s, at most ${MAX_WAIT_MS / 1000}s)`),
});
export type BlockingQuery = z.infer<typeof BlockingQuery>;

/**
 * Waits for a change if the query asked to, and frees the waiter as soon as the client's
 * connection closes.
 */
export async function waitIfAsked(
  reply: FastifyReply,
  query: BlockingQuery,
  wait: (after: number, timeoutMs: number, signal: AbortSignal) => Promise<WaitOutcome>,
): Promise<void> {
  if (query.index === undefined) return;
  const controller = new AbortController();
  const abort = () => controller.abort();
  reply.raw.once('close', abort);
  try {
    await wait(query.index, query.wait ?? DEFAULT_WAIT_MS, controller.signal);
  } finally {
    reply.raw.off('close', abort);
  }
}
