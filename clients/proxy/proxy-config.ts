import { z } from 'zod';
import {
  ConfigError,
  type FlagTable,
  checkedFlag,
  hostPortFlag,
  integerFlag,
  type LogLevel,
  logLevelFlag,
  parseFlags,
  switchFlag,
  registryFlag,
  tokenFlag,
  usage,
} from '../../contract/command-line.js';
import { durationMs } from '../../contract/duration.js';
import { ServiceName, Tag } from '../../contract/instance.js';
import { POLICY_NAMES, type PolicyName } from '../balancing/policy.js';
import type { BreakerOptions } from '../breaker/circuit-breaker.js';

export { ConfigError };

function percent(flag: string) {
  return integerFlag(flag, 0, 100).transform((value) => value / 100);
}

function bounded(flag: string, minMs: number, maxMs: number) {
  return durationMs(flag).refine((ms) => ms >= minMs && ms <= maxMs, `${flag} must be between ${minMs} ms and ${maxMs / 1000} s`);
}

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
  'log-level': logLevelFlag,
  // What operators expect of a proxy: an access log, and TCP connections that do not idle forever.
  'access-log': switchFlag('--access-log', 'one JSON line per request on stdout: method, path, status, instance, tries, durationMs, requestId'),
  'tcp-idle-timeout': {
    default: '60m',
    help: 'TCP mode: close a connection with no byte either way for this long (0: never)',
    schema: durationMs('--tcp-idle-timeout').refine((ms) => ms >= 0 && ms <= 86_400_000, '--tcp-idle-timeout must be between 0 and 24h'),
  },
} satisfies FlagTable;

export interface ListenAddress {
  host: string;
  port: number;
}

export interface ProxyConfig {
  service: string;
  listen: ListenAddress;
  registry: string;
  mode: 'http' | 'tcp';
  policy: PolicyName;
  tag: string | undefined;
  retries: number;
  tryTimeoutMs: number;
  timeoutMs: number;
  breaker: BreakerOptions;
  panicThreshold: number;
  maxEjectedShare: number;
  admin: ListenAddress;
  token: string | undefined;
  logLevel: LogLevel;
  accessLog: boolean;
  tcpIdleTimeoutMs: number;
}

/** Returns null when --help was asked for. */
export function parseProxyConfig(argv: string[], env: NodeJS.ProcessEnv): ProxyConfig | null {
  const parsed = parseFlags(flags, argv, env);
  if (!parsed) return null;
  if (parsed['breaker-open-max'] < parsed['breaker-open']) throw new ConfigError('--breaker-open-max must not be shorter than --breaker-open');
  return {
    service: parsed.service,
    listen: parsed.listen,
    registry: parsed.registry.replace(/\/+$/, ''),
    mode: parsed.mode,
    policy: parsed.policy,
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
    logLevel: parsed['log-level'],
    accessLog: parsed['access-log'],
    tcpIdleTimeoutMs: parsed['tcp-idle-timeout'],
  };
}

export function proxyUsage(): string {
  return usage('beacon proxy --service NAME --listen HOST:PORT [flags]', flags);
}
