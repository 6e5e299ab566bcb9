import { lookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import { hostname, type NetworkInterfaceInfo, networkInterfaces } from 'node:os';

/** Where the machine's addresses come from; tests pass their own. */
export interface AddressSources {
  interfaces(): NodeJS.Dict<NetworkInterfaceInfo[]>;
  /** The addresses the machine's own name resolves to (in a container: its IP, from /etc/hosts). */
  lookupHostname(): Promise<string[]>;
}

export const SYSTEM_ADDRESSES: AddressSources = {
  interfaces: networkInterfaces,
  async lookupHostname() {
    return (await lookup(hostname(), { all: true })).map((entry) => entry.address);
  },
};

/**
 * The address a demo service registers, which Beacon needs as an IP literal (it is what DNS
 * answers and the proxy connects to). An explicit `--advertise` wins; a specific listen
 * address is what others reach; a wildcard listen (0.0.0.0 or ::, as in a container) means
 * "this machine": its first non-loopback address, IPv4 before IPv6, else its host name's
 * address, else loopback. A listen host that is a name (localhost) is resolved.
 */
export async function advertisedAddress(listenHost: string, advertise: string | undefined, sources: AddressSources = SYSTEM_ADDRESSES): Promise<string> {
  if (advertise) return advertise;
  if (isIP(listenHost) !== 0 && !isWildcard(listenHost)) return listenHost;
  if (isIP(listenHost) === 0) {
    const { address } = await lookup(listenHost);
    if (!isWildcard(address)) return address;
  }
  const external = Object.values(sources.interfaces())
    .flat()
    .filter((info): info is NetworkInterfaceInfo => info !== undefined && !info.internal && !isLinkLocal(info.address));
  const preferred = external.find((info) => info.family === 'IPv4') ?? external.find((info) => info.family === 'IPv6');
  if (preferred) return preferred.address;
  const named = (await sources.lookupHostname().catch(() => [])).filter((address) => !isLoopback(address));
  return named[0] ?? '127.0.0.1';
}

function isWildcard(address: string): boolean {
  return address === '0.0.0.0' || address === '::';
}

function isLoopback(address: string): boolean {
  return address.startsWith('127.') || address === '::1';
}

/** fe80::/10: reachable only with a zone index, which a registration cannot carry. */
function isLinkLocal(address: string): boolean {
  return /^fe[89ab]/i.test(address);
}
