import { parseArgs } from 'node:util';
import { z } from 'zod';

/**
 * The command-line machinery every `beacon` command shares: a table of flags, each with a
 * default, a help line and a zod schema. Flags win over BEACON_* environment variables, which
 * win over the defaults; every value is checked at start, so a bad one stops the command with
 * one line that names it.
 */
export interface FlagSetting {
  /** Absent: the flag is required (its schema says so when it is missing). */
  default?: string;
  help: string;
  schema: z.ZodType<unknown, string | undefined>;
  /** A switch (`--acl`): given, it reads as "true"; its environment variable takes true/false. */
  switch?: true;
  /** Repeatable (`--tag a --tag b`): the schema checks each value, the flag reads as their list (empty when not given). */
  multiple?: true;
  /**
   * false: no BEACON_* variable, for a value that belongs to one invocation (an address, a
   * status) rather than to a setup. A name: that variable instead of BEACON_<FLAG>, where the
   * derived name would mean something else (the registry's CA is not the server's --tls-ca).
   * Repeatable flags never read one.
   */
  env?: false | string;
}

export type FlagTable = Record<string, FlagSetting>;

/** Each flag's parsed value, by flag name. */
export type ParsedFlags<T extends FlagTable> = {
  [K in keyof T]: T[K] extends { multiple: true } ? z.output<T[K]['schema']>[] : z.output<T[K]['schema']>;
};

/** Positional arguments, in order, by the name the synopsis gives them (`NAME`, `ID`); all are required. */
export type OperandTable = Record<string, z.ZodType<unknown, string | undefined>>;

export type ParsedOperands<T extends OperandTable> = { [K in keyof T]: z.output<T[K]> };

export interface ParsedCommandLine<T extends FlagTable, O extends OperandTable> {
  flags: ParsedFlags<T>;
  operands: ParsedOperands<O>;
  /** The flags set on the command line or by a BEACON_* variable; the others hold their default. */
  given: ReadonlySet<keyof T & string>;
}

export class ConfigError extends Error {}

export function envName(flag: string): string {
  return `BEACON_${flag.toUpperCase().replace(/-/g, '_')}`;
}

/** The variable a flag reads: its own name when the table gives one, else BEACON_<FLAG>; undefined: none. */
function variableOf(flag: string, setting: FlagSetting): string | undefined {
  if (setting.multiple || setting.env === false) return undefined;
  return setting.env ?? envName(flag);
}

/** Parses `argv` and `env` against the table; null when --help was asked for. */
export function parseFlags<T extends FlagTable>(table: T, argv: string[], env: NodeJS.ProcessEnv): ParsedFlags<T> | null {
  return parseCommandLine(table, {}, argv, env)?.flags ?? null;
}

/**
 * Parses flags and positional arguments (operands, which may stand before, between or after
 * the flags); null when --help was asked for, whatever else is missing.
 */
export function parseCommandLine<T extends FlagTable, O extends OperandTable>(
  table: T,
  operands: O,
  argv: string[],
  env: NodeJS.ProcessEnv,
): ParsedCommandLine<T, O> | null {
  let values: Record<string, string | boolean | (string | boolean)[] | undefined>;
  let positionals: string[];
  try {
    ({ values, positionals } = parseArgs({
      args: argv,
      strict: true,
      allowPositionals: true,
      options: {
        help: { type: 'boolean', short: 'h' },
        ...Object.fromEntries(
          Object.entries(table).map(([flag, setting]) => [flag, { type: setting.switch ? ('boolean' as const) : ('string' as const), multiple: setting.multiple === true }]),
        ),
      },
    }));
  } catch (error) {
    // One line. Node's advice about `--` matters only to a command with operands (an instance id may start with "-").
    const advice = Object.keys(operands).length > 0 ? ' (an argument that starts with "-" goes after "--")' : '';
    throw new ConfigError((error as Error).message.replace(/\. To specify a positional argument[\s\S]*$/, advice).replace(/\s*\n\s*/g, ' '));
  }
  if (values.help) return null;
  const names = Object.keys(operands);
  if (positionals.length > names.length) {
    throw new ConfigError(`unexpected argument ${JSON.stringify(positionals[names.length])}${names.length === 0 ? ' (this command takes only flags)' : ''}`);
  }
  const parsedOperands: Record<string, unknown> = {};
  names.forEach((name, position) => {
    const given = positionals[position];
    const result = operands[name]!.safeParse(given);
    if (!result.success) throw new ConfigError(`${result.error.issues[0]!.message}${given === undefined ? '' : `, got ${quoted(given)}`}`);
    parsedOperands[name] = result.data;
  });
  const parsed: Record<string, unknown> = {};
  const given = new Set<string>();
  for (const [flag, setting] of Object.entries(table)) {
    const variable = variableOf(flag, setting);
    if (values[flag] !== undefined || (variable !== undefined && env[variable] !== undefined)) given.add(flag);
    parsed[flag] = setting.multiple ? ((values[flag] ?? []) as string[]).map((value) => check(setting, value, '')) : single(flag, setting, values[flag], env);
  }
  return { flags: parsed as ParsedFlags<T>, operands: parsedOperands as ParsedOperands<O>, given: given as Set<keyof T & string> };
}

function single(flag: string, setting: FlagSetting, given: unknown, env: NodeJS.ProcessEnv): unknown {
  const fromFlag = given === undefined ? undefined : String(given);
  const variable = variableOf(flag, setting);
  const fromEnv = variable === undefined ? undefined : env[variable];
  const raw = fromFlag ?? fromEnv ?? setting.default;
  return check(setting, raw, fromFlag === undefined && fromEnv !== undefined ? ` (from ${variable})` : '');
}

function check(setting: FlagSetting, raw: string | undefined, source: string): unknown {
  const result = setting.schema.safeParse(raw);
  if (!result.success) throw new ConfigError(`${result.error.issues[0]!.message}${raw === undefined ? '' : `, got ${quoted(raw)}${source}`}`);
  return result.data;
}

/** A value as an error message quotes it: in JSON quotes, cut to 60 characters. */
export function quoted(value: unknown): string {
  const text = JSON.stringify(value);
  return text.length > 60 ? `${text.slice(0, 57)}..."` : text;
}

/** The --help text: one line per flag with its default and environment variable. */
export function usage(synopsis: string, table: FlagTable): string {
  const width = Math.max(...Object.keys(table).map((flag) => flag.length)) + 2;
  const rows = Object.entries(table).map(([flag, setting]) => {
    const origin = setting.multiple
      ? 'repeatable'
      : setting.switch
        ? 'off unless given'
        : setting.default === undefined
          ? 'required'
          : `default ${setting.default === '' ? 'none' : setting.default}`;
    const variable = variableOf(flag, setting);
    return `  --${flag.padEnd(width)} ${setting.help} (${origin}${variable === undefined ? '' : `; env ${variable}`})`;
  });
  return [`usage: ${synopsis}`, '', ...rows].join('\n');
}

/** An integer flag within [min, max], given as text. */
export function integerFlag(flag: string, min: number, max: number) {
  return z
    .string({ error: `${flag} is required` })
    .regex(/^\d+$/, `${flag} must be an integer ${min}-${max}`)
    .transform(Number)
    .refine((value) => value >= min && value <= max, `${flag} must be an integer ${min}-${max}`);
}

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

/** `--log-level`, the same for every command. */
export const logLevelFlag = {
  default: 'info',
  help: `pino level: ${LOG_LEVELS.join(', ')}`,
  schema: z.enum(LOG_LEVELS, { error: `--log-level must be one of ${LOG_LEVELS.join(', ')}` }),
} satisfies FlagSetting;

/** A switch flag: absent or "false"/"0" is off; given, or "true"/"1" in its variable, is on. */
export function switchFlag(flag: string, help: string) {
  return {
    default: 'false',
    help,
    switch: true,
    schema: z.enum(['true', 'false', '1', '0'], { error: `${flag} takes no value on the command line; its variable must be true or false` }).transform((value) => value === 'true' || value === '1'),
  } satisfies FlagSetting;
}

/** `HOST:PORT`, with IPv6 hosts in brackets (`[::1]:8080`); port 0 means any free port. */
export function hostPortFlag(flag: string) {
  return z
    .string({ error: `${flag} is required (HOST:PORT)` })
    .regex(/^(\[[0-9a-fA-F:.]+\]|[^:\s]+):\d{1,5}$/, `${flag} must be HOST:PORT, such as 127.0.0.1:8080 or [::1]:8080`)
    .transform((value) => {
      const split = value.lastIndexOf(':');
      return { host: value.slice(0, split).replace(/^\[(.*)\]$/, '$1'), port: Number(value.slice(split + 1)) };
    })
    .refine(({ port }) => port <= 65535, `${flag} port must be 0-65535`);
}

/**
 * A value checked by one of the registry's own schemas (a service name, a tag, an instance id),
 * with the flag or operand named in the schema's message: `--tag must be one lower-case DNS label...`.
 */
export function checkedFlag(flag: string, schema: z.ZodString, { optional = false } = {}) {
  return z.string({ error: `${flag} is required` }).superRefine((value, context) => {
    if (optional && value === '') return;
    const result = schema.safeParse(value);
    if (!result.success) context.addIssue({ code: 'custom', message: `${flag} ${result.error.issues[0]!.message}` });
  });
}

const DOMAIN = /^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$/;

/** A DNS zone such as `beacon.internal`: lower-cased, without its trailing dot. */
export function domainFlag(flag: string) {
  return z
    .string()
    .transform((value) => value.toLowerCase().replace(/\.$/, ''))
    .refine((value) => DOMAIN.test(value), `${flag} must be a DNS name such as beacon.internal`);
}

/** `--registry`, the same for every command that talks to the HTTP API. */
export const registryFlag = {
  default: 'http://127.0.0.1:8500',
  help: "the registry's HTTP API",
  schema: z.url({ protocol: /^https?$/, error: '--registry must be an http:// or https:// URL' }),
} satisfies FlagSetting;

/** `--token`, the same for every command that talks to the HTTP API; empty: none. */
export const tokenFlag = { default: '', help: 'registry ACL token (sent as a bearer token)', schema: z.string() } satisfies FlagSetting;

/**
 * `--tls-ca`, `--tls-cert`, `--tls-key`: how a command that talks to the HTTP API reaches an
 * https:// registry. Their variables are BEACON_REGISTRY_*, not BEACON_TLS_*: those are the
 * server's own certificate, and a shell that runs both must not hand one to the other.
 */
export const registryTlsFlags = {
  'tls-ca': { default: '', env: 'BEACON_REGISTRY_CA', help: "PEM file: the CA that signed the registry's certificate (https://; none: the system's CAs)", schema: z.string() },
  'tls-cert': { default: '', env: 'BEACON_REGISTRY_CERT', help: 'PEM file: a client certificate for a registry that asks for one (with --tls-key)', schema: z.string() },
  'tls-key': { default: '', env: 'BEACON_REGISTRY_KEY', help: "PEM file: the client certificate's private key (with --tls-cert)", schema: z.string() },
} satisfies FlagTable;
