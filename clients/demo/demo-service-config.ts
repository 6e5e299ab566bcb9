import { isIP } from 'node:net';
import { hostname } from 'node:os';
import { z } from 'zod';
import { checkedFlag, ConfigError, type FlagTable, hostPortFlag, integerFlag, type LogLevel, logLevelFlag, parseFlags, registryTlsFlags, usage } from '../../contract/command-line.js';
import { InstanceId, LIMITS, ServiceName, Tag } from '../../contract/instance.js';
import type { ListenAddress } from '../proxy/proxy-config.js';
import { registryTlsOf } from '../tls/registry-tls.js';
import { readTlsFiles, TlsFileError, type TlsMaterial } from '../tls/tls-files.js';

export { ConfigError };

/** `beacon demo-service`'s flags (docs/demo.md). */
const flags = {
  service: { default: 'web', help: 'the service to register as', schema: checkedFlag('--service', ServiceName) },
  id: {
    default: '',
    help: 'instance id (empty: <service>-<hostname>-<port>)',
    schema: z.string().refine((value) => value === '' || InstanceId.safeParse(value).success, '--id must be 1-128 of A-Z, a-z, 0-9, ".", "_" and "-"'),
  },
  listen: { default: '127.0.0.1:9000', help: 'where the service answers, HOST:PORT (port 0: any free port)', schema: hostPortFlag('--listen') },
  advertise: {
    default: '',
    help: 'the IP address registered (empty: the listen address, or this machine\'s own address when listening on 0.0.0.0 or ::)',
    schema: z.string().refine((value) => value === '' || isIP(value) !== 0, '--advertise must be an IPv4 or IPv6 literal (Beacon registers addresses, not names)'),
  },
  registry: {
    default: 'http://127.0.0.1:8500',
    help: "the registry's HTTP API",
    schema: z.url({ protocol: /^https?$/, error: '--registry must be an http:// or https:// URL' }),
  },
  weight: { default: '1', help: 'SRV and balancing weight, 0-65535', schema: integerFlag('--weight', 0, 65535) },
  tag: {
    default: '',
    help: 'tags, comma-separated (each one lower-case DNS label)',
    schema: z
      .string()
      .transform((value) => value.split(',').map((tag) => tag.trim()).filter((tag) => tag !== ''))
      .refine((tags) => tags.every((tag) => Tag.safeParse(tag).success), '--tag must be lower-case DNS labels separated by commas')
      .refine((tags) => new Set(tags).size === tags.length && tags.length <= LIMITS.tags, `--tag must not repeat a tag nor have more than ${LIMITS.tags}`),
  },
  ttl: { default: '15', help: 'seconds without a heartbeat before the registry turns the instance critical (heartbeats go every ttl/3)', schema: integerFlag('--ttl', 1, LIMITS.maxTtlSeconds) },
  token: { default: '', help: 'registry ACL token (sent as a bearer token)', schema: z.string() },
  ...registryTlsFlags,
  'listen-tls-cert': { default: '', help: 'serve HTTPS with this certificate (PEM; with --listen-tls-key), as an instance behind `beacon proxy --upstream-tls-ca`', schema: z.string() },
  'listen-tls-key': { default: '', help: "the HTTPS certificate's private key (PEM)", schema: z.string() },
  'log-level': logLevelFlag,
} satisfies FlagTable;

export interface DemoServiceConfig {
  service: string;
  /** Undefined: derived from the host name and the port actually bound. */
  id: string | undefined;
  listen: ListenAddress;
  advertise: string | undefined;
  registry: string;
  weight: number;
  tags: string[];
  ttl: number;
  token: string | undefined;
  /** --tls-ca, --tls-cert, --tls-key, read at start; undefined: plain http or the system's CAs. */
  registryTls: TlsMaterial | undefined;
  /** --listen-tls-cert and --listen-tls-key, read at start; undefined: it serves plain http. */
  listenTls: TlsMaterial | undefined;
  logLevel: LogLevel;
}

/** Returns null when --help was asked for. */
export function parseDemoServiceConfig(argv: string[], env: NodeJS.ProcessEnv): DemoServiceConfig | null {
  const parsed = parseFlags(flags, argv, env);
  if (!parsed) return null;
  const registry = parsed.registry.replace(/\/+$/, '');
  return {
    service: parsed.service,
    id: parsed.id || undefined,
    listen: parsed.listen,
    advertise: parsed.advertise || undefined,
    registry,
    weight: parsed.weight,
    tags: parsed.tag,
    ttl: parsed.ttl,
    token: parsed.token || undefined,
    registryTls: registryTlsOf(registry, parsed),
    listenTls: listenTlsOf(parsed['listen-tls-cert'], parsed['listen-tls-key']),
    logLevel: parsed['log-level'],
  };
}

function listenTlsOf(cert: string, key: string): TlsMaterial | undefined {
  if (!cert && !key) return undefined;
  try {
    return readTlsFiles({ cert, key }, { ca: '--listen-tls-ca', cert: '--listen-tls-cert', key: '--listen-tls-key' });
  } catch (error) {
    if (error instanceof TlsFileError) throw new ConfigError(error.message);
    throw error;
  }
}

export function demoServiceUsage(): string {
  return usage('beacon demo-service [--service web] [--id ID] [--listen HOST:PORT] [--advertise ADDRESS] [flags]', flags);
}

/** `<service>-<hostname>-<port>`, cut to the characters and length an instance id allows. */
export function defaultInstanceId(service: string, port: number, host = hostname()): string {
  return `${service}-${host}-${port}`.replace(/[^A-Za-z0-9._-]/g, '-').slice(-128);
}
