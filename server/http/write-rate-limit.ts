import fastifyRateLimit from '@fastify/rate-limit';
import type { FastifyInstance } from 'fastify';

/**
 * Per-client-IP rate limit on writes (register, heartbeat, maintenance, deregister), through
 * @fastify/rate-limit: `perSecond` writes a second per address, then 429 with Retry-After.
 * Reads and blocking queries are not limited (blocked queries have their own cap). Off when
 * `perSecond` is 0: the hook costs a lookup per request, which a trusted network need not pay.
 */
export async function limitWrites(app: FastifyInstance, perSecond: number): Promise<void> {
  if (perSecond <= 0) return;
  // Runs before the plugin's own onRoute hook, so the plugin sees the limit on write routes.
  app.addHook('onRoute', (route) => {
    if (route.config?.access === 'write') route.config.rateLimit = { max: perSecond, timeWindow: 1000 };
  });
  await app.register(fastifyRateLimit, {
    global: false,
    errorResponseBuilder: (request, context) => ({
      statusCode: 429,
      error: 'Too Many Requests',
      message: `too many writes from ${request.ip}: at most ${context.max} a second (--write-rate-limit); retry in ${context.after}`,
    }),
  });
}
