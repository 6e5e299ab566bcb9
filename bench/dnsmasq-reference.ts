import { existsSync, writeFileSync } from 'node:fs';
import { Resolver } from 'node:dns/promises';
import { addressLabel } from '../server/dns/zone.js';
import { DOMAIN, QUERIED, queriedServices } from './dns-fleet.js';
import { onCpu } from './support/cpu.js';
import type { ProcessStart } from './support/listening-process.js';

/**
 * A C server beside the Node ceiling: Debian's dnsmasq, answering the bench's questions from
 * its configuration with the records Beacon gives (each queried service's A records; its SRV
 * records, port 8080, priority and weight 1, naming `<address>.addr.<domain>` targets whose A
 * records go in the additional section). It is measured at half Beacon's peak rate only, to
 * show what latency tail the machine itself allows a server written in C.
 */
export const DNSMASQ = '/usr/sbin/dnsmasq';

export function dnsmasqIsInstalled(): boolean {
  return existsSync(DNSMASQ);
}

/** Writes dnsmasq's configuration for the queried services to `path`. */
export function writeDnsmasqConfig(path: string): void {
  const lines = queriedServices().flatMap(({ service, addresses }) => {
    const name = `${service}.service.${DOMAIN}`;
    return addresses.flatMap((address) => {
      const target = `${addressLabel(address)}.addr.${DOMAIN}`;
      return [`host-record=${name},${address}`, `srv-host=${name},${target},8080,1,1`, `host-record=${target},${address}`];
    });
  });
  writeFileSync(path, `${lines.join('\n')}\n`);
}

/**
 * dnsmasq in the foreground on 127.0.0.1:`port` with only that configuration: no upstream, no
 * hosts file, no cache to fill (configured records are answered without one), no pid file. Its
 * log goes to stderr, which the shell folds into stdout where the "started" line is awaited;
 * `exec` keeps the pid dnsmasq's, so its CPU time is what gets measured.
 */
export function dnsmasqStart(configFile: string, port: number, cpu: number | undefined): ProcessStart {
  const dnsmasqArgs = [
    '--keep-in-foreground', `--conf-file=${configFile}`, `--port=${port}`, '--listen-address=127.0.0.1', '--bind-interfaces',
    '--no-resolv', '--no-hosts', '--cache-size=0', '--pid-file', '--log-facility=-',
  ];
  const [command, args] = onCpu(cpu, '/bin/sh', ['-c', `exec ${DNSMASQ} ${dnsmasqArgs.join(' ')} 2>&1`]);
  return { command, args, listeningLine: /dnsmasq\[\d+\]: (started)/, name: 'dnsmasq' };
}

/** Fails unless dnsmasq answers a queried service as Beacon does (every A and SRV record). */
export async function checkDnsmasqAnswers(port: number): Promise<void> {
  const resolver = new Resolver({ timeout: 2_000, tries: 1 });
  resolver.setServers([`127.0.0.1:${port}`]);
  const { service, addresses } = queriedServices()[0]!;
  const name = `${service}.service.${DOMAIN}`;
  const [a, srv] = await Promise.all([resolver.resolve4(name), resolver.resolveSrv(name)]);
  if (a.length !== QUERIED.instancesPerService || srv.length !== QUERIED.instancesPerService || !addresses.every((address) => a.includes(address))) {
    throw new Error(`dnsmasq answered ${name} with A ${JSON.stringify(a)} and SRV ${JSON.stringify(srv)}; expected ${addresses.join(', ')}`);
  }
}
