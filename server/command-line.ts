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
}

export type FlagTable = Record<string, FlagSetting>;

/** Each flag's parsed value, by flag name. */
export type ParsedFlags<T extends FlagTable> = { [K in keyof T]: z.output<T[K]['schema']> };

export class ConfigError extends Error {}

export function envName(flag: string): string {
  return `BEACON_${flag.toUpperCase().replace(/-/g, '_')}`;
}

/** Parses `argv` and `env` against the table; null when --help was asked for. */
export function parseFlags<T extends FlagTable>(table: T, argv: string[], env: NodeJS.ProcessEnv): ParsedFlags<T> | null {
  let values: Record<string, string | boolean | undefined>;
  try {
    ({ values } = parseArgs({
      args: argv,
      strict: true,
      allowPositionals: false,
      options: {
        help: { type: 'boolean', short: 'h' },
        ...Object.fromEntries(Object.entries(table).map(([flag, setting]) => [flag, { type: setting.switch ? ('boolean' as const) : ('string' as const) }])),
      },
    }));
  } catch (error) {
    throw new ConfigError((error as Error).message.split('\n')[0]!);
  }
  if (values.help) return null;
  const parsed: Record<string, unknown> = {};
  for (const [flag, setting] of Object.entries(table)) {
    const given = values[flag];
    const fromFlag = given === undefined ? undefined : String(given);
    const raw = fromFlag ?? env[envName(flag)] ?? setting.default;
    const result = setting.schema.safeParse(raw);
    if (!result.success) {
      const source = fromFlag !== undefined ? '' : env[envName(flag)] !== undefined ? ` (from ${envName(flag)})` : '';
      const got = raw === undefined ? '' : `, got ${JSON.stringify(raw)}${source}`;
      throw new ConfigError(`${result.error.issues[0]!.message}${got}`);
    }
    parsed[flag] = result.data;
  }
  return parsed as ParsedFlags<T>;
}

/** The --help text: one line per flag with its default and environment variable. */
export function usage(synopsis: string, table: FlagTable): string {
  const width = Math.max(...Object.keys(table).map((flag) => flag.length)) + 2;
  const rows = Object.entries(table).map(([flag, setting]) => {
    const origin = setting.switch
      ? 'off unless given'
      : setting.default === undefined
        ? 'required'
        : `default ${setting.default === '' ? 'none' : setting.default}`;
    return `  --${flag.padEnd(width)} ${setting.help} (${origin}; env ${envName(flag)})`;
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
