import { spawnSync } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { onCpu } from '../support/cpu.js';
import type { ProcessStart } from '../support/listening-process.js';

/** Debian's haproxy, the native reference of the proxy bench; skipped (and said so) when missing. */
export const HAPROXY = '/usr/sbin/haproxy';

export function haproxyIsInstalled(): boolean {
  return existsSync(HAPROXY);
}

/** Such as `2.6.12-1+deb12u4`, from `haproxy -v`. */
export function haproxyVersion(): string {
  const output = spawnSync(HAPROXY, ['-v'], { encoding: 'utf8' }).stdout;
  return /version (\S+)/.exec(output)?.[1] ?? 'of unknown version';
}

/**
 * One thread (like the Node contenders' one event loop), round-robin over the backends, with
 * keep-alive to clients and to backends and any idle backend connection reused for any client
 * (`http-reuse always`), as the Node pools do. No logging, no health checks. `tls` adds what
 * the listener's `bind` and each backend's `server` line need for TLS (the proxy TLS bench).
 */
export function haproxyConfig(port: number, backends: readonly string[], tls?: { bind: string; server: string }): string {
  const servers = backends.map((url, n) => `  server b${n} ${new URL(url).host}${tls ? ` ${tls.server}` : ''}`);
  return [
    'global',
    '  nbthread 1',
    '  maxconn 4096',
    'defaults',
    '  mode http',
    '  option http-keep-alive',
    '  http-reuse always',
    '  timeout connect 5s',
    '  timeout client 30s',
    '  timeout server 30s',
    '  timeout http-keep-alive 60s',
    'frontend bench',
    `  bind 127.0.0.1:${port}${tls ? ` ${tls.bind}` : ''}`,
    '  default_backend backends',
    'backend backends',
    '  balance roundrobin',
    ...servers,
    '',
  ].join('\n');
}

/**
 * haproxy in the foreground (-db) on `cpu`, from a config written to `configPath`. -V makes it
 * print which poller it uses once the configuration is loaded: the only line it prints, and
 * printed just before it binds, so whoever waits for the line must still retry a refused
 * connection for a moment.
 */
export function haproxyStart(configPath: string, port: number, backends: readonly string[], cpu: number | undefined, tls?: { bind: string; server: string }): ProcessStart {
  writeFileSync(configPath, haproxyConfig(port, backends, tls));
  const [command, args] = onCpu(cpu, HAPROXY, ['-f', configPath, '-db', '-V']);
  return { command, args, listeningLine: /Using \S+ as the polling mechanism/, name: tls ? 'haproxy (TLS)' : 'haproxy' };
}
