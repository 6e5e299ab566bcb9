/**
 * Errors the registry core raises, as values with a code a transport maps to its own terms
 * (HTTP status, DNS rcode) and a message a user can act on.
 */
export type RegistryErrorCode = 'instance_not_found' | 'too_many_waiters' | 'storage_failed' | 'instance_cap';

export class RegistryError extends Error {
  constructor(
    readonly code: RegistryErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'RegistryError';
  }
}
