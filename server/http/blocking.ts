import type { FastifyReply } from 'fastify';
import { z } from 'zod';
import { durationMs } from '../../contract/duration.js';
import type { WaitOutcome } from '../registry/change-index.js';

/**
 * Blocking queries (Consul's semantics): with `?index=N` a list request waits until the
 * list's index passes N, or `wait` runs out, then answers with the current list and index.
 */
export const DEFAULT_WAIT_MS = 60_000;
export const MAX_WAIT_MS = 300_000;
export const DEFAULT_MAX_WAITERS_PER_CLIENT = 1_000;
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
  const client = reply.request.ip;
  const waiters = reply.server.clientWaiters;
  if (!waiters.enter(client)) {
    reply.header('retry-after', '1');
    throw Object.assign(
      new Error(`too many blocking queries from ${client}: at most ${waiters.max} at once (--max-waiters-per-client); reuse one watch per service`),
      { statusCode: 429 },
    );
  }
  const controller = new AbortController();
  const abort = () => controller.abort();
  reply.raw.once('close', abort);
  try {
    await wait(query.index, query.wait ?? DEFAULT_WAIT_MS, controller.signal);
  } finally {
    reply.raw.off('close', abort);
    waiters.leave(client);
  }
}

/**
 * Blocking queries in flight per client address, bounded so one client (a watcher leaking
 * its queries, a misconfigured dashboard) cannot take the whole registry-wide allowance.
 */
export class ClientWaiters {
  private readonly counts = new Map<string, number>();

  constructor(readonly max: number) {}

  /** Counts one more waiter for the client; false (and nothing counted) when it is at the cap. */
  enter(client: string): boolean {
    const count = this.counts.get(client) ?? 0;
    if (count >= this.max) return false;
    this.counts.set(client, count + 1);
    return true;
  }

  leave(client: string): void {
    const count = (this.counts.get(client) ?? 1) - 1;
    if (count > 0) this.counts.set(client, count);
    else this.counts.delete(client);
  }
}
