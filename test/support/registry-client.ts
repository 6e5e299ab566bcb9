import type { BackoffOptions } from '../../clients/backoff.js';
import { RegistryClient, type RegistryClientOptions } from '../../clients/registry/registry-client.js';

/** Fast, deterministic back-off for tests: 50, 100, 200, 400, 400 ... ms. */
export const FAST_BACKOFF: BackoffOptions = { baseMs: 50, maxMs: 400, jitter: 0 };

/** A client for instance `id` of service `web` with a 1 s TTL (a heartbeat every ~333 ms). */
export function newRegistryClient(registry: string, id: string, overrides: Partial<RegistryClientOptions> = {}): RegistryClient {
  return new RegistryClient({
    registry,
    service: 'web',
    id,
    registration: { address: '127.0.0.1', port: 8080, ttl: 1 },
    backoff: FAST_BACKOFF,
    requestTimeoutMs: 1_000,
    ...overrides,
  });
}
