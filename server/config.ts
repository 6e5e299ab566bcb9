import { isIP } from 'node:net';
import { hostname } from 'node:os';
import { z } from 'zod';
import { durationMs } from '../contract/duration.js';
import type { ApiTlsConfig } from './tls/api-tls.js';
import { ConfigError, domainFlag, envName, type FlagTable, integerFlag, type LogLevel, logLevelFlag, parseFlags, switchFlag, usage } from '../contract/command-line.js';
import { type EtcdTls, etcdTls, etcdTlsSettings } from './etcd-tls-flags.js';

export { ConfigError, envName };
export { etcdTls, etcdTlsSettings };

/** `--etcd-prefix`, the same for every command that finds a registry in etcd. */
export const etcdPrefixSetting = {
  default: '/beacon/',
  help: 'etcd key prefix: two registries can share one etcd',
  schema: z.string().regex(/^\/([A-Za-z0-9._-]+\/)*$/, '--etcd-prefix must start and end with "/" (e.g. /beacon/)'),
};

/** etcd client URLs, comma-separated (empty: none given). */
export function etcdUrls(flag: string) {
  return z.string().refine((value) => value === '' || value.split(',').every(isEtcdUrl), `${flag} must be http(s)://host:port URLs, comma-separated`);
}

/** `beacon server`'s flags, with the defaults of ../shared/SPEC.md. */
const settings = {
  bind: {
    default: '127.0.0.1',
    help: 'address the HTTP and DNS listeners bind',
    schema: z.string().refine((value) => isIP(value) !== 0, '--bind must be an IPv4 or IPv6 address'),
  },
  'http-port': { default: '8500', help: 'HTTP API port (0: any free port)', schema: integerFlag('--http-port', 0, 65535) },
  'dns-port': { default: '8600', help: 'DNS port, UDP and TCP (0: any free port)', schema: integerFlag('--dns-port', 0, 65535) },
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
    schema: domainFlag('--domain'),
  },
  'dns-ttl': { default: '5', help: 'TTL (seconds) of positive DNS answers and of negative caching (the SOA minimum)', schema: integerFlag('--dns-ttl', 0, 2_147_483_647) },
  'dns-udp-max': {
    default: '1232',
    help: 'largest UDP answer, whatever EDNS size a query offers',
    schema: integerFlag('--dns-udp-max', 512, 65_535),
  },
  'dns-rate-limit': {
    default: '0',
    help: 'UDP answers a second per source address, then queries are dropped (TCP is never limited); 0: no limit',
    schema: integerFlag('--dns-rate-limit', 0, 1_000_000),
  },
  'header-timeout': { default: '10s', help: 'longest a client may take to send its request headers, then 408', schema: durationMs('--header-timeout').refine((ms) => ms >= 100, '--header-timeout must be at least 100ms') },
  'request-timeout': { default: '30s', help: 'longest a client may take to send its whole request (not the answer: blocking queries wait longer), then 408', schema: durationMs('--request-timeout').refine((ms) => ms >= 100, '--request-timeout must be at least 100ms') },
  'max-waiters-per-client': {
    default: '1000',
    help: 'blocking queries at once per client address (the registry-wide cap is 10000), then 429',
    schema: integerFlag('--max-waiters-per-client', 1, 10_000),
  },
  'max-instances': { default: '250000', help: 'most instances the registry holds; more registrations get 409', schema: integerFlag('--max-instances', 1, 10_000_000) },
  'max-instances-per-service': {
    default: '25000',
    help: 'most instances one service may have; more registrations get 409',
    schema: integerFlag('--max-instances-per-service', 1, 10_000_000),
  },
  'write-rate-limit': {
    default: '0',
    help: 'writes a second per client address (register, heartbeat, maintenance, deregister), then 429; 0: no limit',
    schema: integerFlag('--write-rate-limit', 0, 1_000_000),
  },
  'self-preservation': {
    default: '50',
    help: 'percent: when more of the healthy instances than this would expire within a minute, expire none (0: off; fleets under 10 never held)',
    schema: integerFlag('--self-preservation', 0, 100),
  },
  acl: switchFlag('--acl', 'require a token on every /v1 request (docs/security.md)'),
  'acl-bootstrap-token': {
    default: '',
    help: 'secret of the bootstrap management token, created or updated at start (needed with --acl until another management token exists)',
    schema: z.string().refine((value) => value === '' || value.length >= 16, '--acl-bootstrap-token must be at least 16 characters'),
  },
  datacenter: {
    default: 'dc1',
    help: 'the datacenter name the Consul-compatible API reports (docs/integrations.md)',
    schema: z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, '--datacenter must be 1-64 of A-Z, a-z, 0-9, "_" and "-"'),
  },
  etcd: {
    default: '',
    help: 'etcd client URLs, comma-separated: keep the registry in etcd and run as one node of a cluster (docs/cluster.md); none: SQLite',
    schema: etcdUrls('--etcd'),
  },
  'etcd-prefix': etcdPrefixSetting,
  ...etcdTlsSettings,
  'node-name': {
    default: '',
    help: "this node's name in the cluster, unique among live nodes (none: the host name)",
    schema: z.string().regex(/^([A-Za-z0-9][A-Za-z0-9._-]{0,62})?$/, '--node-name must be 1-63 of A-Z, a-z, 0-9, ".", "_" and "-", starting with a letter or digit'),
  },
  'tls-cert': {
    default: '',
    help: 'PEM certificate (chain) of the HTTP API: serve HTTPS, with --tls-key; re-read on SIGHUP (docs/security.md); none: plain HTTP',
    schema: z.string(),
  },
  'tls-key': { default: '', help: "PEM private key of --tls-cert's certificate", schema: z.string() },
  'tls-ca': { default: '', help: 'PEM CA that client certificates are checked against (with --tls-verify-clients)', schema: z.string() },
  'tls-verify-clients': switchFlag('--tls-verify-clients', 'refuse, at the TLS handshake, a client without a certificate signed by --tls-ca'),
  'log-level': logLevelFlag,
} satisfies FlagTable;

function isEtcdUrl(value: string): boolean {
  try {
    const url = new URL(value);
    return (url.protocol === 'http:' || url.protocol === 'https:') && url.port !== '' && url.pathname === '/';
  } catch {
    return false;
  }
}

export interface ServerConfig {
  bind: string;
  httpPort: number;
  dnsPort: number;
  db: string;
  dbSync: 'normal' | 'full';
  domain: string;
  dnsTtl: number;
  dnsUdpMax: number;
  dnsRateLimit: number;
  headerTimeoutMs: number;
  requestTimeoutMs: number;
  writeRateLimit: number;
  maxWaitersPerClient: number;
  maxInstances: number;
  maxInstancesPerService: number;
  /** Share 0–1; 0 turns self-preservation off. */
  selfPreservation: number;
  acl: boolean;
  /** Empty: none given. */
  aclBootstrapToken: string;
  datacenter: string;
  /** etcd endpoints; empty: the registry is the SQLite file `db`. */
  etcd: string[];
  etcdPrefix: string;
  /** How to reach etcd over TLS (`https://` URLs): the files of --etcd-ca/--etcd-cert/--etcd-key, read. */
  etcdTls?: EtcdTls;
  nodeName: string;
  /** Undefined: the HTTP API is plain HTTP. */
  tls: ApiTlsConfig | undefined;
  logLevel: LogLevel;
}

/** Returns null when --help was asked for. */
export function parseServerConfig(argv: string[], env: NodeJS.ProcessEnv): ServerConfig | null {
  const flags = parseFlags(settings, argv, env);
  if (!flags) return null;
  const dbGiven = argv.some((arg) => arg === '--db' || arg.startsWith('--db=')) || env[envName('db')] !== undefined;
  if (flags.etcd !== '' && dbGiven) throw new ConfigError('--etcd and --db are two different stores: give one (with --etcd the registry lives in etcd, not in a file)');
  const etcd = flags.etcd === '' ? [] : flags.etcd.split(',');
  const tls = etcdTls('--etcd', etcd, flags);
  return {
    bind: flags.bind,
    httpPort: flags['http-port'],
    dnsPort: flags['dns-port'],
    db: flags.db,
    dbSync: flags['db-sync'],
    domain: flags.domain,
    dnsTtl: flags['dns-ttl'],
    dnsUdpMax: flags['dns-udp-max'],
    dnsRateLimit: flags['dns-rate-limit'],
    headerTimeoutMs: flags['header-timeout'],
    requestTimeoutMs: flags['request-timeout'],
    writeRateLimit: flags['write-rate-limit'],
    maxWaitersPerClient: flags['max-waiters-per-client'],
    maxInstances: flags['max-instances'],
    maxInstancesPerService: flags['max-instances-per-service'],
    selfPreservation: flags['self-preservation'] / 100,
    acl: flags.acl,
    aclBootstrapToken: flags['acl-bootstrap-token'],
    datacenter: flags.datacenter,
    etcd,
    etcdPrefix: flags['etcd-prefix'],
    ...(tls ? { etcdTls: tls } : {}),
    nodeName: flags['node-name'] || hostname(),
    tls: apiTls(flags['tls-cert'], flags['tls-key'], flags['tls-ca'], flags['tls-verify-clients']),
    logLevel: flags['log-level'],
  };
}

/**
 * Which flags go together is checked here (exit 2); the files themselves are read at start,
 * where a bad one stops the server with the flag's name (exit 1).
 */
function apiTls(cert: string, key: string, ca: string, verifyClients: boolean): ApiTlsConfig | undefined {
  if (cert === '' && key === '') {
    const stray = verifyClients ? '--tls-verify-clients' : ca !== '' ? '--tls-ca' : undefined;
    if (stray) throw new ConfigError(`${stray} needs --tls-cert and --tls-key (the HTTP API serves HTTPS only with a certificate)`);
    return undefined;
  }
  if (cert === '') throw new ConfigError('--tls-key needs --tls-cert (the certificate it belongs to)');
  if (key === '') throw new ConfigError("--tls-cert needs --tls-key (the certificate's private key)");
  if (verifyClients && ca === '') throw new ConfigError('--tls-verify-clients needs --tls-ca (the CA client certificates must be signed by)');
  if (!verifyClients && ca !== '') throw new ConfigError('--tls-ca is used only with --tls-verify-clients: add it to require client certificates, or drop --tls-ca');
  return { cert, key, ca: ca === '' ? undefined : ca, verifyClients };
}

export function serverUsage(): string {
  return usage('beacon server [flags]', settings);
}
