import { ConfigError } from '../../contract/command-line.js';
import { DnsLookupError } from '../dns/dns-exchange.js';
import { RegistryClientError } from '../registry/errors.js';

/** What a script can branch on after a `beacon` CLI command (docs/cli.md#exit-codes). */
export const EXIT = {
  /** Done: the answer is on stdout. */
  ok: 0,
  /** The registry answered with an error (404 unknown instance, 401/403, 4xx, 5xx), or a DNS lookup found no records. */
  failed: 1,
  /**
   * A bad or missing flag or argument, a TLS file that cannot be used, or a TLS handshake with
   * the registry that failed (its certificate not trusted, a client certificate wanted): a fix
   * on this side; nothing was sent.
   */
  usage: 2,
  /** The registry or the DNS server could not be reached (refused, reset, timed out). */
  unreachable: 3,
} as const;

export type ExitCode = (typeof EXIT)[keyof typeof EXIT];

/** DNS failures that mean no server answered, rather than an answer without records. */
const DNS_UNREACHABLE: ReadonlySet<string> = new Set(['ECONNREFUSED', 'ETIMEOUT']);

/** The exit code an error stands for; undefined for an error no command expects (a bug: let it crash with its stack). */
export function exitCodeOf(error: unknown): ExitCode | undefined {
  if (error instanceof ConfigError) return EXIT.usage;
  if (error instanceof RegistryClientError) {
    if (error.code === 'unreachable') return EXIT.unreachable;
    return error.code === 'invalid_options' || error.code === 'tls' ? EXIT.usage : EXIT.failed;
  }
  if (error instanceof DnsLookupError) {
    if (DNS_UNREACHABLE.has(error.code)) return EXIT.unreachable;
    return error.code === 'EBADNAME' ? EXIT.usage : EXIT.failed;
  }
  return undefined;
}
