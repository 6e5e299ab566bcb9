import { z } from 'zod';
import {
  checkedFlag,
  ConfigError,
  type FlagTable,
  type OperandTable,
  type ParsedFlags,
  type ParsedOperands,
  parseCommandLine,
  quoted,
  registryFlag,
  registryTlsFlags,
  switchFlag,
  tokenFlag,
  usage,
} from '../../contract/command-line.js';
import { durationMs } from '../../contract/duration.js';
import { InstanceId, ServiceName } from '../../contract/instance.js';
import { RegistryClientError } from '../registry/errors.js';
import type { RegistryApi } from '../registry/registry-api.js';
import { EXIT, type ExitCode, exitCodeOf } from './exit-codes.js';

/** Flags every CLI command has. */
export const outputFlags = {
  json: { ...switchFlag('--json', "print the answer as JSON on one line (the API's own answer, or resolve's records) instead of a table"), env: false },
  timeout: {
    default: '10s',
    help: 'how long to wait for the registry or the DNS server (30s, 500ms)',
    schema: durationMs('--timeout').refine((ms) => ms >= 1, '--timeout must be at least 1ms'),
  },
} satisfies FlagTable;

/** Flags of the commands that call the HTTP API. */
export const registryFlags = { registry: registryFlag, token: tokenFlag, ...registryTlsFlags } satisfies FlagTable;

/** The operands naming an instance: `NAME ID`. */
export const instanceOperands = { NAME: checkedFlag('NAME', ServiceName), ID: checkedFlag('ID', InstanceId) } satisfies OperandTable;

export type CliFlags<F extends FlagTable> = ParsedFlags<F & typeof outputFlags>;

/** One `beacon` CLI command: its words, and what it prints. */
export interface CliCommand<F extends FlagTable, O extends OperandTable> {
  name: string;
  /** What follows `beacon <name>` in the usage line: `NAME [--healthy] [--tag T]`. */
  synopsis: string;
  /** One line: what the command does. */
  about: string;
  operands: O;
  flags: F;
  /**
   * What to print on stdout. Failures are thrown: ConfigError (exit 2), RegistryClientError and
   * DnsLookupError (exit 1 or 3, see exit-codes.ts).
   */
  run(flags: CliFlags<F>, operands: ParsedOperands<O>): Promise<string>;
}

/** What a command did: its exit code and what it printed. */
export interface CliOutcome {
  code: ExitCode;
  stdout: string;
  stderr: string;
}

/**
 * Parses, runs, and says how it went. A failure is one line on stderr (`beacon <name>: <why>`),
 * with the usage line under it when the command line was at fault.
 */
export async function executeCli<F extends FlagTable, O extends OperandTable>(command: CliCommand<F, O>, argv: string[], env: NodeJS.ProcessEnv): Promise<CliOutcome> {
  const flags = { ...command.flags, ...outputFlags };
  const synopsis = `beacon ${command.name} ${command.synopsis}`;
  try {
    const parsed = parseCommandLine(flags, command.operands, argv, env);
    if (!parsed) return { code: EXIT.ok, stdout: `${command.about}\n\n${usage(synopsis, flags)}\n`, stderr: '' };
    return { code: EXIT.ok, stdout: await command.run(parsed.flags, parsed.operands), stderr: '' };
  } catch (error) {
    const code = exitCodeOf(error);
    if (code === undefined) throw error;
    const tlsFailure = error instanceof RegistryClientError && error.code === 'tls';
    const hint = code === EXIT.usage && !tlsFailure ? `\nusage: ${synopsis} (more: beacon ${command.name} --help)` : '';
    // Loaded only on a TLS failure, like the HTTP client below: a plain command never reads it.
    const message = tlsFailure ? (await import('../tls/registry-tls.js')).withTlsAdvice(error) : (error as Error).message;
    return { code, stdout: '', stderr: `beacon ${command.name}: ${message}${hint}\n` };
  }
}

/** Runs a command for `bin/beacon.js`: its output to stdout and stderr, its exit code to the process. */
export async function runCliCommand<F extends FlagTable, O extends OperandTable>(argv: string[], command: CliCommand<F, O>): Promise<void> {
  const { code, stdout, stderr } = await executeCli(command, argv, process.env);
  process.stdout.write(stdout);
  process.stderr.write(stderr);
  process.exitCode = code;
}

/** Calls the registry with the command's --registry, --token, --tls-* and --timeout, then closes the connection. */
export async function withRegistry<T>(flags: CliFlags<typeof registryFlags>, call: (api: RegistryApi) => Promise<T>): Promise<T> {
  const tlsGiven = flags['tls-ca'] !== '' || flags['tls-cert'] !== '' || flags['tls-key'] !== '';
  const tls = tlsGiven ? (await import('../tls/registry-tls.js')).registryTlsOf(flags.registry, flags) : undefined;
  // Loaded here rather than on top: --help and usage errors answer without the HTTP client, a large share of the start-up time (docs/benchmarks.md).
  const { RegistryApi } = await import('../registry/registry-api.js');
  const api = new RegistryApi({ registry: flags.registry, requestTimeoutMs: flags.timeout, ...(flags.token ? { token: flags.token } : {}), ...(tls ? { tls } : {}) });
  try {
    return await call(api);
  } finally {
    await api.close();
  }
}

/**
 * Checks a request body built from flags with the registry's own schema, so limits live in one
 * place, and names the flag in the error: `--port must be 1-65535, got 0`. Answers the body as
 * given (not with defaults filled in): what a flag left out, the registry decides.
 */
export function checkBody<S extends z.ZodType>(schema: S, body: z.input<S>, flagOf: Readonly<Record<string, string>>): z.input<S> {
  const result = schema.safeParse(body);
  if (result.success) return body;
  const issue = result.error.issues[0]!;
  const flag = flagOf[String(issue.path[0] ?? '')] ?? String(issue.path[0]);
  // A record's bad key (a --meta KEY) comes as an issue about the key, with the key last in its path.
  if (issue.code === 'invalid_key') throw new ConfigError(`${flag} ${quoted(issue.path.at(-1))}: ${issue.issues[0]?.message ?? issue.message}`);
  let given: unknown = body;
  for (const key of issue.path) given = (given as Record<PropertyKey, unknown> | undefined)?.[key];
  const got = given === undefined || typeof given === 'object' ? '' : `, got ${quoted(given)}`;
  throw new ConfigError(`${flag} ${issue.message}${got}`);
}

/** A whole number given as text (the registry's schema then checks its range). */
export function wholeNumberFlag(flag: string) {
  return z
    .string({ error: `${flag} is required` })
    .regex(/^\d{1,15}$/, `${flag} must be a whole number`)
    .transform(Number);
}

/** The same, optional: empty (the default) leaves the body field out, so the registry's default applies. */
export function optionalWholeNumberFlag(flag: string) {
  return z
    .string()
    .regex(/^(\d{1,15})?$/, `${flag} must be a whole number`)
    .transform((value) => (value === '' ? undefined : Number(value)));
}
