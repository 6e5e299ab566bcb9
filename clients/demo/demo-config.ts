import { z } from 'zod';
import { ConfigError, type FlagTable, integerFlag, type LogLevel, logLevelFlag, parseFlags, switchFlag, usage } from '../../contract/command-line.js';

/** The three instances `npm run demo` starts: web-1..3 on base-port, +1, +2. Weights 1:2:3 make the balancing visible. */
export const DEMO_INSTANCES = [
  { id: 'web-1', weight: 1, tags: ['blue'] },
  { id: 'web-2', weight: 2, tags: ['green'] },
  { id: 'web-3', weight: 3, tags: ['green'] },
] as const;

export const DEMO_SERVICE = 'web';

/** `npm run demo`'s flags (docs/demo.md); each also BEACON_<FLAG>. Everything listens on 127.0.0.1. */
const flags = {
  'http-port': { default: '8500', help: "the registry's HTTP API port", schema: integerFlag('--http-port', 1, 65535) },
  'dns-port': { default: '8600', help: "the registry's DNS port, UDP and TCP", schema: integerFlag('--dns-port', 1, 65535) },
  'proxy-port': { default: '8080', help: 'where `beacon proxy` listens for the web service', schema: integerFlag('--proxy-port', 1, 65535) },
  'admin-port': { default: '9901', help: "the proxy's admin listener (/metrics, /stats)", schema: integerFlag('--admin-port', 1, 65535) },
  'base-port': { default: '9001', help: `the first demo instance's port; the others take the next ${DEMO_INSTANCES.length - 1}`, schema: integerFlag('--base-port', 1, 65535 - DEMO_INSTANCES.length + 1) },
  ttl: { default: '10', help: "the instances' TTL in seconds (a frozen instance turns critical after it)", schema: integerFlag('--ttl', 1, 86_400) },
  db: { default: ':memory:', help: "the registry's SQLite file (':memory:': nothing kept)", schema: z.string().min(1, '--db must not be empty') },
  'log-level': { ...logLevelFlag, help: `the processes' log level (${logLevelFlag.help}); warn keeps the output to the tour` },
  // No variable: BEACON_TLS_* name the server's certificate files, not a demo switch.
  tls: { ...switchFlag('--tls', 'every hop over https (registry, instances, proxy), with a throwaway CA made for the run: every demo process trusts it'), env: false },
} satisfies FlagTable;

export interface DemoConfig {
  httpPort: number;
  dnsPort: number;
  proxyPort: number;
  adminPort: number;
  basePort: number;
  ttl: number;
  db: string;
  logLevel: LogLevel;
  /** The registry serves https with certificates from a throwaway CA (run-demo.ts makes them). */
  tls: boolean;
}

/** Returns null when --help was asked for; throws ConfigError. */
export function parseDemoConfig(argv: string[], env: NodeJS.ProcessEnv): DemoConfig | null {
  const parsed = parseFlags(flags, argv, env);
  if (!parsed) return null;
  const ports = {
    '--http-port': parsed['http-port'],
    '--dns-port': parsed['dns-port'],
    '--proxy-port': parsed['proxy-port'],
    '--admin-port': parsed['admin-port'],
    ...Object.fromEntries(DEMO_INSTANCES.map((instance, i) => [`${instance.id} (--base-port + ${i})`, parsed['base-port'] + i])),
  };
  const taken = new Map<number, string>();
  for (const [what, port] of Object.entries(ports)) {
    const other = taken.get(port);
    if (other) throw new ConfigError(`${what} and ${other} are both ${port}: every listener needs its own port`);
    taken.set(port, what);
  }
  return {
    httpPort: parsed['http-port'],
    dnsPort: parsed['dns-port'],
    proxyPort: parsed['proxy-port'],
    adminPort: parsed['admin-port'],
    basePort: parsed['base-port'],
    ttl: parsed.ttl,
    db: parsed.db,
    logLevel: parsed['log-level'],
    tls: parsed.tls,
  };
}

export function demoUsage(): string {
  return usage('npm run demo -- [--tls] [--http-port 8500] [--dns-port 8600] [--proxy-port 8080] [--base-port 9001] [flags]', flags);
}
