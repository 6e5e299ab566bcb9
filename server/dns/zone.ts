import { isIP } from 'node:net';

/**
 * The names Beacon answers under its domain (SPEC.md, DNS):
 *   <domain>                                 SOA, NS (the apex)
 *   <service>.service.<domain>               A, AAAA, SRV
 *   <tag>.<service>.service.<domain>         A, AAAA, SRV, filtered by tag
 *   _<service>._tcp.service.<domain>         SRV (RFC 2782 form)
 *   _<service>._<tag>.service.<domain>       SRV (RFC 2782 form, filtered by tag)
 *   <address>.addr.<domain>                  A or AAAA: SRV targets that resolve by themselves
 *   ns.<domain>                              the name server named in NS and SOA
 * Questions are classified once, lower-cased, so no answer code re-parses a name.
 */
export type ZoneName =
  | { kind: 'outside' }
  | { kind: 'apex' }
  | { kind: 'nameserver' }
  /** A name with names below it but no records of its own (RFC 8020): NOERROR, no data. */
  | { kind: 'empty' }
  | { kind: 'service'; service: string; tag?: string; rfc2782: boolean }
  | { kind: 'address'; address: string; family: 4 | 6 }
  | { kind: 'unknown' };

export interface Classified {
  name: ZoneName;
  /** Where the zone's apex starts within the question name: the SOA's owner points there. */
  apexOffset: number;
}

/** Distinct names remembered; past that the cache starts over (random names cannot grow it). */
const CACHE_LIMIT = 10_000;

export class Zone {
  readonly labels: string[];
  readonly nameserver: string[];
  readonly hostmaster: string[];
  private readonly cache = new Map<string, Classified>();

  constructor(readonly domain: string) {
    this.labels = domain.split('.');
    this.nameserver = ['ns', ...this.labels];
    this.hostmaster = ['hostmaster', ...this.labels];
  }

  /** Classifies a question name given as its lower-cased wire form (Question.key). */
  classify(key: string): Classified {
    let classified = this.cache.get(key);
    if (!classified) {
      if (this.cache.size >= CACHE_LIMIT) this.cache.clear();
      classified = this.classifyLabels(wireLabels(key));
      this.cache.set(key, classified);
    }
    return classified;
  }

  private classifyLabels(labels: readonly string[]): Classified {
    const inside = labels.length - this.labels.length;
    let apexOffset = 0;
    for (let i = 0; i < inside; i++) apexOffset += labels[i]!.length + 1;
    const at = (name: ZoneName): Classified => ({ name, apexOffset });
    if (inside < 0) return at({ kind: 'outside' });
    for (let i = 0; i < this.labels.length; i++) {
      if (labels[inside + i] !== this.labels[i]) return at({ kind: 'outside' });
    }
    const name = labels.slice(0, inside);
    if (name.length === 0) return at({ kind: 'apex' });
    const [first, second] = name;
    const last = name[name.length - 1];
    if (name.length === 1) {
      if (first === 'service' || first === 'addr') return at({ kind: 'empty' });
      if (first === 'ns') return at({ kind: 'nameserver' });
      return at({ kind: 'unknown' });
    }
    if (last === 'addr' && name.length === 2) return at(parseAddressLabel(first!));
    if (last !== 'service' || name.length > 3) return at({ kind: 'unknown' });
    if (name.length === 2) return at({ kind: 'service', service: first!, rfc2782: false });
    if (first!.startsWith('_') && second!.startsWith('_')) {
      const service = first!.slice(1);
      const protocolOrTag = second!.slice(1);
      return at(
        protocolOrTag === 'tcp'
          ? { kind: 'service', service, rfc2782: true }
          : { kind: 'service', service, tag: protocolOrTag, rfc2782: true },
      );
    }
    return at({ kind: 'service', service: second!, tag: first!, rfc2782: false });
  }
}

/** The labels of a wire-form name string (length-prefixed labels ending in an empty one). */
export function wireLabels(key: string): string[] {
  const labels: string[] = [];
  for (let offset = 0; offset < key.length; ) {
    const length = key.charCodeAt(offset);
    if (length === 0) break;
    labels.push(key.slice(offset + 1, offset + 1 + length));
    offset += 1 + length;
  }
  return labels;
}

/** Labels of the name an SRV record targets for an address: it resolves by itself. */
export function addressTarget(zone: Zone, address: string): string[] {
  return [addressLabel(address), 'addr', ...zone.labels];
}

/**
 * An address as one label: IPv4 dotted with hyphens (10-0-0-1), IPv6 as its 32 hex digits,
 * so the name decodes to the address with no lookup.
 */
export function addressLabel(address: string): string {
  if (isIP(address) === 4) return address.replace(/\./g, '-');
  return ipv6Bytes(address).toString('hex');
}

function parseAddressLabel(label: string): ZoneName {
  if (/^\d{1,3}(-\d{1,3}){3}$/.test(label)) {
    const address = label.replace(/-/g, '.');
    if (isIP(address) === 4) return { kind: 'address', address, family: 4 };
  }
  if (/^[0-9a-f]{32}$/.test(label)) {
    const groups = label.match(/.{4}/g)!;
    return { kind: 'address', address: groups.join(':'), family: 6 };
  }
  return { kind: 'unknown' };
}

/** The 16 bytes of an IPv6 literal (including embedded IPv4 forms such as ::ffff:10.0.0.1). */
export function ipv6Bytes(address: string): Buffer {
  let text = address.toLowerCase();
  const zone = text.indexOf('%');
  if (zone !== -1) text = text.slice(0, zone);
  const dotted = /(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (dotted) {
    const [a, b, c, d] = dotted[1]!.split('.').map(Number);
    text = `${text.slice(0, dotted.index)}${((a! << 8) | b!).toString(16)}:${((c! << 8) | d!).toString(16)}`;
  }
  const [head, tail] = text.includes('::') ? text.split('::') : [text, undefined];
  const headGroups = head ? head.split(':') : [];
  const tailGroups = tail ? tail.split(':') : [];
  const missing = 8 - headGroups.length - tailGroups.length;
  const groups = tail === undefined ? headGroups : [...headGroups, ...Array<string>(missing).fill('0'), ...tailGroups];
  const bytes = Buffer.alloc(16);
  groups.forEach((group, i) => bytes.writeUInt16BE(Number.parseInt(group, 16), i * 2));
  return bytes;
}

export function ipv4Bytes(address: string): Buffer {
  return Buffer.from(address.split('.').map(Number));
}
