import { z } from 'zod';
import {
  ConfigError,
  type FlagTable,
  checkedFlag,
  hostPortFlag,
  integerFlag,
  type LogLevel,
  logLevelFlag,
  parseCommandLine,
  parseFlags,
  switchFlag,
  registryFlag,
  registryTlsFlags,
  tokenFlag,
  usage,
} from '../../contract/command-line.js';
import { durationMs } from '../../contract/duration.js';
import { ServiceName, Tag } from '../../contract/instance.js';
import type { HashOn } from '../balancing/hash-key.js';
import { POLICY_NAMES, type PolicyName } from '../balancing/policy.js';
import type { BreakerOptions } from '../breaker/circuit-breaker.js';
import { BEACON_DEFAULTS } from '../policy/beacon-defaults.js';
import { registryTlsOf } from '../tls/registry-tls.js';
import { readTlsFiles, TlsFileError, type TlsMaterial } from '../tls/tls-files.js';
import type { PolicyDefaults, PolicySources } from '../policy/effective-policy.js';

export { ConfigError };

function percent(flag: string) {
  return integerFlag(flag, 0, 100).transform((value) => value / 100);
}

function bounded(flag: string, minMs: number, maxMs: number) {
  return durationMs(flag).refine((ms) => ms >= minMs && ms <= maxMs, `${flag} must be between ${minMs} ms and ${maxMs / 1000} s`);
}

/** A header or cookie name: an RFC 9110 §5.6.2 token (as a policy's `hashOn` takes). */
const TOKEN = z.string().regex(/^[!#$%&'*+.^_`|~0-9A-Za-z-]{1,128}$/, "must be a header or cookie name (letters, digits and !#$%&'*+.^_`|~-), 1-128 characters");

/** `beacon proxy`'s flags (SPEC: Proxy); the defaults are documented in docs/proxy.md. */
const flags = {
  service: { help: 'the service to forward to', schema: checkedFlag('--service', ServiceName) },
  listen: { help: 'where clients connect, HOST:PORT (port 0: any free port)', schema: hostPortFlag('--listen') },
  registry: registryFlag,
  mode: { default: 'http', help: 'http (layer 7) or tcp (layer 4: whole connections)', schema: z.enum(['http', 'tcp'], { error: '--mode must be http or tcp' }) },
  policy: {
    default: 'weighted-round-robin',
    help: `balancing policy: ${POLICY_NAMES.join(', ')}`,
    schema: z.enum(POLICY_NAMES, { error: `--policy must be one of ${POLICY_NAMES.join(', ')}` }),
  },
  'hash-header': { default: '', help: 'ring-hash: hash this request header (HTTP mode)', schema: checkedFlag('--hash-header', TOKEN, { optional: true }) },
  'hash-cookie': { default: '', help: 'ring-hash: hash this cookie (HTTP mode)', schema: checkedFlag('--hash-cookie', TOKEN, { optional: true }) },
  tag: { default: '', help: 'only instances with this tag (empty: all)', schema: checkedFlag('--tag', Tag, { optional: true }) },
  retries: { default: '2', help: 'further tries, each on another instance', schema: integerFlag('--retries', 0, 10) },
  'try-timeout': { default: '5s', help: 'per try: connecting and waiting for response headers', schema: bounded('--try-timeout', 1, 600_000) },
  timeout: { default: '15s', help: 'per request, over all tries, until response headers', schema: bounded('--timeout', 1, 3_600_000) },
  'breaker-failures': { default: '5', help: 'consecutive failures that open an instance\'s breaker', schema: integerFlag('--breaker-failures', 1, 1000) },
  'breaker-open': { default: '1s', help: 'first open time; the n-th opening lasts n times as long', schema: bounded('--breaker-open', 1, 3_600_000) },
  'breaker-open-max': { default: '30s', help: 'longest open time', schema: bounded('--breaker-open-max', 1, 3_600_000) },
  'half-open-probes': { default: '1', help: 'probes a half-open breaker lets through; that many successes close it', schema: integerFlag('--half-open-probes', 1, 100) },
  'panic-threshold': { default: '50', help: 'percent: below this share of usable instances, balance over all healthy ones', schema: percent('--panic-threshold') },
  'max-ejection': { default: '50', help: 'percent: most instances breakers may take out at once (at least one)', schema: percent('--max-ejection') },
  admin: { default: '127.0.0.1:9901', help: 'admin listener: /metrics, /stats, /healthz', schema: hostPortFlag('--admin') },
  token: tokenFlag,
  // The registry hop over https: --tls-ca, --tls-cert, --tls-key (BEACON_REGISTRY_CA/_CERT/_KEY), as every CLI command has them.
  ...registryTlsFlags,
  'log-level': logLevelFlag,
  // What operators expect of a proxy: an access log, and TCP connections that do not idle forever.
  'access-log': switchFlag('--access-log', 'one JSON line per request on stdout: method, path, status, instance, tries, durationMs, requestId'),
  'tcp-idle-timeout': {
    default: '60m',
    help: 'TCP mode: close a connection with no byte either way for this long (0: never)',
    schema: durationMs('--tcp-idle-timeout').refine((ms) => ms >= 0 && ms <= 86_400_000, '--tcp-idle-timeout must be between 0 and 24h'),
  },
  // TLS on the proxy's two traffic hops (docs/proxy.md#tls); the registry hop has flags of its own.
  'listen-tls-cert': { default: '', help: 'PEM certificate for the listener: HTTPS in HTTP mode, TLS in TCP mode (with --listen-tls-key)', schema: z.string() },
  'listen-tls-key': { default: '', help: 'PEM private key of --listen-tls-cert', schema: z.string() },
  'listen-tls-ca': { default: '', help: 'PEM CA that signs client certificates (with --listen-tls-verify-clients)', schema: z.string() },
  'listen-tls-verify-clients': switchFlag('--listen-tls-verify-clients', 'require a client certificate signed by --listen-tls-ca; others are refused at the handshake'),
  'upstream-tls-ca': { default: '', help: 'PEM CA to verify instances against: turns on TLS to instances', schema: z.string() },
  'upstream-tls-cert': { default: '', help: 'PEM client certificate shown to instances that require one (with --upstream-tls-key)', schema: z.string() },
  'upstream-tls-key': { default: '', help: 'PEM private key of --upstream-tls-cert', schema: z.string() },
} satisfies FlagTable;

export interface ListenAddress {
  host: string;
  port: number;
}

/** The listener's TLS: its certificate and key, and the CA client certificates must be signed by. */
export interface ListenTls {
  cert: Buffer;
  key: Buffer;
  /** Set with --listen-tls-verify-clients: clients without a certificate it signed are refused at the handshake. */
  clientCa: Buffer | undefined;
}

export interface ProxyConfig {
  service: string;
  listen: ListenAddress;
  registry: string;
  mode: 'http' | 'tcp';
  policy: PolicyName;
  /** With ring-hash in HTTP mode: what a request's key is (in TCP mode: the client's address). */
  hashOn: HashOn | undefined;
  tag: string | undefined;
  retries: number;
  tryTimeoutMs: number;
  timeoutMs: number;
  breaker: BreakerOptions;
  panicThreshold: number;
  maxEjectedShare: number;
  admin: ListenAddress;
  token: string | undefined;
  /** The registry hop's CA and client certificate (--tls-*), read at start; undefined: plain http or the system's CAs. */
  registryTls: TlsMaterial | undefined;
  logLevel: LogLevel;
  /** The flags set on the command line or in the environment: the policy in force marks their fields `flag`, the rest `default`. */
  flagsGiven: ReadonlySet<ProxyFlag>;
  accessLog: boolean;
  tcpIdleTimeoutMs: number;
  /** TLS from clients (--listen-tls-*); plain without it. */
  listenTls: ListenTls | undefined;
  /** TLS to instances (--upstream-tls-*): the CA they are verified against, and the proxy's client certificate if any. */
  upstreamTls: TlsMaterial | undefined;
}

export type ProxyFlag = keyof typeof flags & string;

/** Returns null when --help was asked for. */
export function parseProxyConfig(argv: string[], env: NodeJS.ProcessEnv): ProxyConfig | null {
  const commandLine = parseCommandLine(flags, {}, argv, env);
  if (!commandLine) return null;
  const parsed = commandLine.flags;
  if (parsed['breaker-open-max'] < parsed['breaker-open']) throw new ConfigError('--breaker-open-max must not be shorter than --breaker-open');
  const hashOn = hashOnOf(parsed.policy, parsed.mode, parsed['hash-header'], parsed['hash-cookie']);
  const registry = parsed.registry.replace(/\/+$/, '');
  const { listenTls, upstreamTls } = tlsOf(parsed);
  return {
    service: parsed.service,
    listen: parsed.listen,
    registry,
    mode: parsed.mode,
    policy: parsed.policy,
    hashOn,
    tag: parsed.tag || undefined,
    retries: parsed.retries,
    tryTimeoutMs: parsed['try-timeout'],
    timeoutMs: parsed.timeout,
    breaker: {
      consecutiveFailures: parsed['breaker-failures'],
      failureRate: { threshold: 0.5, minimumRequests: 20, windowMs: 10_000 },
      openTime: { baseMs: parsed['breaker-open'], maxMs: parsed['breaker-open-max'], jitter: 0.2 },
      halfOpenProbes: parsed['half-open-probes'],
    },
    panicThreshold: parsed['panic-threshold'],
    maxEjectedShare: parsed['max-ejection'],
    admin: parsed.admin,
    token: parsed.token || undefined,
    registryTls: registryTlsOf(registry, parsed),
    logLevel: parsed['log-level'],
    flagsGiven: commandLine.given,
    accessLog: parsed['access-log'],
    tcpIdleTimeoutMs: parsed['tcp-idle-timeout'],
    listenTls,
    upstreamTls,
  };
}

/** How the proxy's watchers reach the registry: its URL, token and TLS material. */
export function registryHop(config: ProxyConfig): { registry: string; token?: string; tls?: TlsMaterial } {
  return { registry: config.registry, ...(config.token ? { token: config.token } : {}), ...(config.registryTls ? { tls: config.registryTls } : {}) };
}

type TlsFlags = Record<'listen-tls-cert' | 'listen-tls-key' | 'listen-tls-ca' | 'upstream-tls-ca' | 'upstream-tls-cert' | 'upstream-tls-key', string> & { 'listen-tls-verify-clients': boolean };

/**
 * Both hops' TLS files, read and checked once at start: a missing, unreadable or mismatched
 * file is a ConfigError naming its flag (exit 2), never a failed handshake later.
 */
function tlsOf(parsed: TlsFlags): { listenTls: ListenTls | undefined; upstreamTls: TlsMaterial | undefined } {
  const listenCert = parsed['listen-tls-cert'];
  const listenKey = parsed['listen-tls-key'];
  const clientCa = parsed['listen-tls-ca'];
  const verifyClients = parsed['listen-tls-verify-clients'];
  if (!listenCert && !listenKey && (clientCa || verifyClients)) throw new ConfigError(`${clientCa ? '--listen-tls-ca' : '--listen-tls-verify-clients'} needs --listen-tls-cert and --listen-tls-key (a TLS listener)`);
  if (verifyClients && !clientCa) throw new ConfigError('--listen-tls-verify-clients needs --listen-tls-ca (the CA client certificates must be signed by)');
  if (clientCa && !verifyClients) throw new ConfigError('--listen-tls-ca is only used with --listen-tls-verify-clients: give both, or neither');
  const upstreamCa = parsed['upstream-tls-ca'];
  const upstreamCert = parsed['upstream-tls-cert'];
  const upstreamKey = parsed['upstream-tls-key'];
  if (!upstreamCa && (upstreamCert || upstreamKey)) throw new ConfigError(`${upstreamCert ? '--upstream-tls-cert' : '--upstream-tls-key'} needs --upstream-tls-ca (which turns on TLS to instances)`);
  try {
    const listen = listenCert || listenKey ? readTlsFiles({ cert: listenCert, key: listenKey }, { ca: '--listen-tls-ca', cert: '--listen-tls-cert', key: '--listen-tls-key' }) : undefined;
    const clients = clientCa ? readTlsFiles({ ca: clientCa }, { ca: '--listen-tls-ca', cert: '--listen-tls-cert', key: '--listen-tls-key' }) : undefined;
    const upstreamTls = upstreamCa
      ? readTlsFiles({ ca: upstreamCa, cert: upstreamCert, key: upstreamKey }, { ca: '--upstream-tls-ca', cert: '--upstream-tls-cert', key: '--upstream-tls-key' })
      : undefined;
    return { listenTls: listen ? { cert: listen.cert!, key: listen.key!, clientCa: clients?.ca } : undefined, upstreamTls };
  } catch (error) {
    if (error instanceof TlsFileError) throw new ConfigError(error.message);
    throw error;
  }
}

/** Which flags stand in for each policy field the service's policy leaves out. */
const FLAGS_OF_FIELD: Partial<Record<keyof PolicySources, readonly ProxyFlag[]>> = {
  balancing: ['policy'],
  timeoutMs: ['timeout'],
  tryTimeoutMs: ['try-timeout'],
  retries: ['retries'],
  outlier: ['breaker-failures', 'breaker-open', 'breaker-open-max', 'max-ejection'],
  panicThreshold: ['panic-threshold'],
};

/**
 * The flags as the policy's defaults (SPEC: Traffic policy): a field is `flag` when one of its
 * flags was given on the command line or in the environment, else Beacon's `default`.
 */
export function policyDefaults(config: ProxyConfig): PolicyDefaults {
  const base = BEACON_DEFAULTS;
  const sources = Object.fromEntries(
    Object.keys(base).map((field) => [field, FLAGS_OF_FIELD[field as keyof PolicySources]?.some((flag) => config.flagsGiven.has(flag)) ? 'flag' : 'default']),
  ) as PolicySources;
  return {
    values: {
      ...base,
      balancing: config.policy,
      hashOn: config.hashOn,
      timeoutMs: config.timeoutMs,
      tryTimeoutMs: config.tryTimeoutMs,
      retries: { ...base.retries, count: config.retries },
      outlier: {
        ...base.outlier,
        consecutiveFailures: config.breaker.consecutiveFailures,
        baseEjectionTimeMs: config.breaker.openTime.baseMs,
        maxEjectionTimeMs: config.breaker.openTime.maxMs,
        maxEjection: config.maxEjectedShare,
      },
      panicThreshold: config.panicThreshold,
    },
    sources,
  };
}

/** The key source ring-hash needs in HTTP mode, exactly one of the two; neither applies to another policy. */
function hashOnOf(policy: PolicyName, mode: 'http' | 'tcp', header: string, cookie: string): HashOn | undefined {
  if (header && cookie) throw new ConfigError('--hash-header and --hash-cookie exclude each other: give one');
  if ((header || cookie) && policy !== 'ring-hash') throw new ConfigError(`--hash-${header ? 'header' : 'cookie'} applies only to --policy ring-hash`);
  if ((header || cookie) && mode === 'tcp') throw new ConfigError('--hash-header and --hash-cookie apply to HTTP mode: in TCP mode ring-hash hashes the client\'s address');
  if (policy === 'ring-hash' && mode === 'http' && !header && !cookie) throw new ConfigError('--policy ring-hash needs --hash-header NAME or --hash-cookie NAME in HTTP mode');
  if (header) return { header: header.toLowerCase() };
  return cookie ? { cookie } : undefined;
}

export function proxyUsage(): string {
  return usage('beacon proxy --service NAME --listen HOST:PORT [flags]', flags);
}
