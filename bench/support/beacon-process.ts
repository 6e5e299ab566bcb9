import { join } from 'node:path';
import { packageRoot } from '../../server/paths.js';
import { onCpu } from './cpu.js';
import type { ListeningProcess, ProcessStart } from './listening-process.js';

const BEACON_BIN = join(packageRoot, 'bin/beacon.js');

/**
 * Both listeners' log lines, in either order: group 1 is the HTTP URL, group 2 the DNS port.
 * Logging stays at info because those lines are info lines, and the only way to learn the ports.
 */
const LISTENING = /^(?=[\s\S]*HTTP API listening on (https?:\/\/[^\s"]+))(?=[\s\S]*DNS listening on udp:\/\/[^\s"]*:(\d+))/;

/** `beacon server` as a user runs it, on free ports and the given database file, on `cpu`; `extra`: more flags (--tls-cert…). */
export function beaconStart(db: string, cpu: number | undefined, extra: readonly string[] = []): ProcessStart {
  const beaconArgs = [BEACON_BIN, 'server', '--http-port', '0', '--dns-port', '0', '--db', db, '--log-level', 'info', ...extra];
  const [command, args] = onCpu(cpu, process.execPath, beaconArgs);
  return { command, args, listeningLine: LISTENING, name: 'Beacon' };
}

/** `beacon server` as one node of a cluster over etcd (`--etcd`), named `name`, on free ports, on `cpu`. */
export function beaconNodeStart(etcdUrls: readonly string[], prefix: string, name: string, cpu: number | undefined): ProcessStart {
  const beaconArgs = [BEACON_BIN, 'server', '--http-port', '0', '--dns-port', '0', '--etcd', etcdUrls.join(','), '--etcd-prefix', prefix, '--node-name', name, '--log-level', 'info'];
  const [command, args] = onCpu(cpu, process.execPath, beaconArgs);
  return { command, args, listeningLine: LISTENING, name: `Beacon node ${name}` };
}

/** The UDP and TCP port of a process started with `beaconStart`. */
export function dnsPortOf(beacon: ListeningProcess): number {
  return Number(beacon.captures[1]);
}

/** Both of `beacon proxy`'s listening lines, in either order: group 1 is the proxy's URL, group 2 the admin listener's. */
const PROXY_LISTENING = /^(?=[\s\S]*proxy listening on (http:\/\/[^\s"]+))(?=[\s\S]*proxy admin listening on (http:\/\/[^\s"]+))/;

/**
 * `beacon proxy` in HTTP mode with its defaults (weighted round-robin, breakers, metrics), on
 * free ports, forwarding to `service` as `registry` lists it. Logging at info for the same reason
 * as the server's: the listening lines are info lines; nothing is logged per request.
 */
export function beaconProxyStart(registry: string, service: string, cpu: number | undefined): ProcessStart {
  const proxyArgs = [BEACON_BIN, 'proxy', '--service', service, '--listen', '127.0.0.1:0', '--registry', registry, '--admin', '127.0.0.1:0', '--log-level', 'info'];
  const [command, args] = onCpu(cpu, process.execPath, proxyArgs);
  return { command, args, listeningLine: PROXY_LISTENING, name: 'beacon proxy' };
}
