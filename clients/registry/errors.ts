import type { z } from 'zod';
import type { TlsRemedy } from './tls-failure.js';

/**
 * What can go wrong between a client and the registry, as codes a caller can branch on:
 *
 * - `invalid_options`: the options or registration are wrong; thrown before any request.
 * - `not_registered`: the registry does not know the instance (404 to a heartbeat).
 * - `rejected`: any other 4xx; the registry will answer the same way until the request changes.
 * - `unavailable`: a 5xx (the registry is shutting down, or cannot write its database).
 * - `unreachable`: no answer: connection refused or reset, DNS failure, timeout.
 * - `tls`: the TLS handshake failed (an untrusted or misnamed certificate, a client certificate
 *   wanted or refused, the wrong scheme); `remedy` says what fixes it. Not retried before the
 *   first registration: like a bad token, it is this side's setup.
 * - `bad_answer`: an answer that does not match the API (a proxy's error page, a wrong port).
 * - `closed`: the client was closed while the call waited.
 */
export type RegistryClientErrorCode =
  | 'invalid_options'
  | 'not_registered'
  | 'rejected'
  | 'unavailable'
  | 'unreachable'
  | 'tls'
  | 'bad_answer'
  | 'closed';

/** Codes worth retrying with back-off: the same request may well succeed later. */
const TRANSIENT: ReadonlySet<RegistryClientErrorCode> = new Set(['unavailable', 'unreachable', 'bad_answer']);

export class RegistryClientError extends Error {
  constructor(
    readonly code: RegistryClientErrorCode,
    message: string,
    options: { status?: number; cause?: unknown; remedy?: TlsRemedy } = {},
  ) {
    super(message, { cause: options.cause });
    this.name = 'RegistryClientError';
    this.status = options.status;
    this.remedy = options.remedy;
  }

  /** The HTTP status, when the registry answered. */
  readonly status: number | undefined;

  /** With code `tls`: what fixes the handshake. */
  readonly remedy: TlsRemedy | undefined;

  get transient(): boolean {
    return TRANSIENT.has(this.code);
  }
}

/** `what.path: problem; ...` in the server's own wording, so a bad option reads like a 400. */
export function invalidOptions(what: string, error: z.ZodError): RegistryClientError {
  const problems = error.issues.map((issue) => `${[what, ...issue.path.map(String)].join('.')}: ${issue.message}`);
  return new RegistryClientError('invalid_options', problems.join('; '));
}

/** Parses an option with its schema, or throws `invalid_options` naming the field. */
export function parseOption<S extends z.ZodType>(schema: S, value: unknown, what: string): z.output<S> {
  const result = schema.safeParse(value);
  if (!result.success) throw invalidOptions(what, result.error);
  return result.data;
}

/** Requests fail with RegistryClientError; anything else is a bug, still reported with a code. */
export function asClientError(error: unknown): RegistryClientError {
  if (error instanceof RegistryClientError) return error;
  return new RegistryClientError('bad_answer', `unexpected failure: ${(error as Error).message}`, { cause: error });
}
