import { STATUS_CODES } from 'node:http';
import type { FastifyError, FastifyInstance } from 'fastify';
import { z } from 'zod';
import type { Metrics } from '../metrics/metrics.js';
import { RegistryError, type RegistryErrorCode } from '../registry/errors.js';

/** Every error the API returns: `message` names the field or the cause. */
export const ErrorBody = z.object({
  statusCode: z.number().int(),
  error: z.string(),
  message: z.string(),
});

const registryStatus: Record<RegistryErrorCode, number> = {
  instance_not_found: 404,
  too_many_waiters: 503,
  storage_failed: 503,
  instance_cap: 409,
};

/** Fastify's own client-error codes, reworded to name what was wrong. */
const requestErrors: Record<string, (error: FastifyError, bodyLimit: number) => string> = {
  FST_ERR_CTP_BODY_TOO_LARGE: (_error, bodyLimit) => `body: must be at most ${bodyLimit} bytes`,
  FST_ERR_CTP_INVALID_MEDIA_TYPE: () => 'content-type: must be application/json',
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: () => 'content-length: does not match the body',
  FST_ERR_CTP_INVALID_JSON_BODY: (error) => `body: is not valid JSON (${error.message})`,
};

export function installErrorHandling(app: FastifyInstance, bodyLimit: number, metrics: Metrics): void {
  app.setErrorHandler((error: FastifyError, request, reply) => {
    if (error instanceof RegistryError) {
      const statusCode = registryStatus[error.code];
      if (statusCode === 503) reply.header('retry-after', '1');
      if (error.code === 'storage_failed') {
        metrics.storageErrors.inc({ operation: 'request' });
        request.log.error({ err: error.cause }, error.message);
      }
      return reply.code(statusCode).send(errorBody(statusCode, error.message));
    }
    const reword = requestErrors[error.code];
    if (reword) return reply.code(error.statusCode ?? 400).send(errorBody(error.statusCode ?? 400, reword(error, bodyLimit)));
    if (error instanceof SyntaxError && error.message.includes('forbidden prototype property')) {
      return reply.code(400).send(errorBody(400, 'body: must not contain __proto__ or constructor.prototype keys'));
    }
    if (error instanceof SyntaxError || error.code === 'FST_ERR_CTP_EMPTY_JSON_BODY') {
      return reply.code(400).send(errorBody(400, `body: is not valid JSON (${error.message})`));
    }
    const statusCode = error.statusCode ?? 500;
    if (statusCode >= 500) {
      request.log.error({ err: error }, 'request failed');
      return reply.code(500).send(errorBody(500, 'internal error: the server logged the details'));
    }
    return reply.code(statusCode).send(errorBody(statusCode, error.message));
  });

  app.setNotFoundHandler((request, reply) => {
    metrics.observeHttp(request.method, 'unmatched', 404, reply.elapsedTime / 1000);
    reply.code(404).send(errorBody(404, `no route ${request.method} ${request.url.split('?')[0]}`));
  });
}

export function errorBody(statusCode: number, message: string): z.infer<typeof ErrorBody> {
  return { statusCode, error: statusText(statusCode), message };
}

function statusText(statusCode: number): string {
  return STATUS_CODES[statusCode] ?? 'Error';
}
