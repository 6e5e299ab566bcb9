import { isIP } from 'node:net';
import { parseArgs } from 'node:util';
import { z } from 'zod';

/**
 * `beacon server` configuration: flags win over BEACON_* environment variables, which win
 * over the defaults of ../shared/SPEC.md. Every value is checked here, so a bad one stops the
 * server at start with a line that names it.
 */
const integer = (flag: string, min: number, max: number) =>
  z
    .string()
    .regex(/^\d+$/, `${flag} must be an integer ${min}-${max}`)
    .transform(Number)
    .refine((value) => value >= min && value <= max, `${flag} must be an integer ${min}-${max}`);

const DOMAIN = /^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$/;

const settings = {
  bind: {
    default: '127.0.0.1',
    help: 'address the HTTP and DNS listeners bind',
    schema: z.string().refine((value) => isIP(value) !== 0, '--bind must be an IPv4 or IPv6 address'),
  },
  'http-port': { default: '8500', help: 'HTTP API port (0: any free port)', schema: integer('--http-port', 0, 65535) },
  'dns-port': { default: '8600', help: 'DNS port, UDP and TCP (0: any free port)', schema: integer('--dns-port', 0, 65535) },
  db: {
    default: './data/beacon.db',
    help: "SQLite file (created with its folder; ':memory:' for throwaway runs)",
    schema: z.string().min(1, '--db must not be empty'),
  },
  'db-sync': {
    default: 'normal',
    help: 'normal: writes survive a crash of the process; full: also power loss, slower',
    schema: z.enum(['normal', 'full'], { error: '--db-sync must be normal or full' }),
  },
  domain: {
    default: 'beacon.internal',
    help: 'the DNS zone Beacon is authoritative for',
    schema: z
      .string()
      .transform((value) => value.toLowerCase().replace(/\.$/, ''))
      .refine((value) => DOMAIN.test(value), '--domain must be a DNS name such as beacon.internal'),
  },
  'dns-ttl': { default: '5', help: 'TTL (seconds) of positive DNS answers', schema: integer('--dns-ttl', 0, 2_147_483_647) },
  'dns-udp-max': {
    default: '1232',
    help: 'largest UDP answer, whatever EDNS size a query offers',
    schema: integer('--dns-udp-max', 512, 65_535),
  },
  'log-level': {
    default: 'info',
    help: 'pino level: fatal, error, warn, info, debug, trace or silent',
    schema: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'], {
      error: '--log-level must be one of fatal, error, warn, info, debug, trace, silent',
    }),
  },
} as const;

type Settings = typeof settings;
type FlagName = keyof Settings;

const ServerConfig = z.object(
  Object.fromEntries(Object.entries(settings).map(([flag, setting]) => [flag, setting.schema])) as {
    [K in FlagName]: Settings[K]['schema'];
  },
);
type ParsedFlags = z.infer<typeof ServerConfig>;

export interface ServerConfig {
  bind: string;
  httpPort: number;
  dnsPort: number;
  db: string;
  dbSync: 'normal' | 'full';
  domain: string;
  dnsTtl: number;
  dnsUdpMax: number;
  logLevel: ParsedFlags['log-level'];
}

export class ConfigError extends Error {}

export function envName(flag: string): string {
  return `BEACON_${flag.toUpperCase().replace(/-/g, '_')}`;
}

/** Returns null when --help was asked for. */
export function parseServerConfig(argv: string[], env: NodeJS.ProcessEnv): ServerConfig | null {
  let values: Record<string, string | boolean | undefined>;
  try {
    ({ values } = parseArgs({
      args: argv,
      strict: true,
      allowPositionals: false,
      options: {
        help: { type: 'boolean', short: 'h' },
        ...Object.fromEntries(Object.keys(settings).map((flag) => [flag, { type: 'string' as const }])),
      },
    }));
  } catch (error) {
    throw new ConfigError((error as Error).message.split('\n')[0]!);
  }
  if (values.help) return null;
  const raw = Object.fromEntries(
    (Object.keys(settings) as FlagName[]).map((flag) => [flag, values[flag] ?? env[envName(flag)] ?? settings[flag].default]),
  );
  const parsed = ServerConfig.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const flag = String(issue.path[0]);
    const source = values[flag] !== undefined ? '' : env[envName(flag)] !== undefined ? ` (from ${envName(flag)})` : '';
    throw new ConfigError(`${issue.message}, got ${JSON.stringify(raw[flag])}${source}`);
  }
  const flags = parsed.data;
  return {
    bind: flags.bind,
    httpPort: flags['http-port'],
    dnsPort: flags['dns-port'],
    db: flags.db,
    dbSync: flags['db-sync'],
    domain: flags.domain,
    dnsTtl: flags['dns-ttl'],
    dnsUdpMax: flags['dns-udp-max'],
    logLevel: flags['log-level'],
  };
}

export function serverUsage(): string {
  const rows = Object.entries(settings).map(
    ([flag, setting]) => `  --${flag.padEnd(12)} ${setting.help} (default ${setting.default}; env ${envName(flag)})`,
  );
  return ['usage: beacon server [flags]', '', ...rows].join('\n');
}
