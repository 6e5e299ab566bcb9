import { type Clock, systemClock } from '../../contract/clock.js';
import { ServiceName, Tag } from '../../contract/instance.js';
import { DnsExchange, DnsLookupError, type DnsMessage, type DnsRecord } from './dns-exchange.js';
import { pickByPriorityAndWeight } from './srv-selection.js';

export { DnsLookupError, type DnsLookupErrorCode } from './dns-exchange.js';

/** One SRV record with its target's address (RFC 2782 fields; `ttl` in seconds, as answered). */
export interface SrvTarget {
  readonly priority: number;
  readonly weight: number;
  readonly port: number;
  readonly target: string;
  readonly address: string;
  readonly ttl: number;
}

export interface SrvResolverOptions {
  /** Beacon's DNS listener. Default 127.0.0.1. */
  host?: string;
  /** Default 8600. */
  port?: number;
  /** The zone Beacon serves (its --domain). Default beacon.internal. */
  domain?: string;
  /** Per query (UDP, then TCP if truncated). Default 2000. */
  timeoutMs?: number;
  clock?: Clock;
  /** For pick(); Math.random by default. */
  random?: () => number;
}

interface CachedAnswer {
  targets: readonly SrvTarget[];
  /** Clock time after which the answer must be asked again. */
  expiresAt: number;
}

interface AddressRecord {
  address: string;
  ttl: number;
}

const TYPE_SRV = 33;
const TYPE_A = 1;
const TYPE_AAAA = 28;

/**
 * SRV lookups against Beacon's DNS, cached for the answer's TTL: `resolve()` lists a service's
 * healthy instances, `pick()` chooses one as RFC 2782 says. Answers are cached per name until
 * the smallest TTL of the records they were built from runs out (RFC 2181 §5.2), so a caller
 * may resolve per request without a query per request, and sees changes within a TTL.
 */
export class SrvResolver {
  readonly domain: string;
  private readonly exchange: DnsExchange;
  private readonly clock: Clock;
  private readonly random: () => number;
  private readonly cache = new Map<string, CachedAnswer>();
  /** Lookups in flight, so concurrent callers of an expired name share one query. */
  private readonly inFlight = new Map<string, Promise<CachedAnswer>>();

  constructor(options: SrvResolverOptions = {}) {
    this.domain = (options.domain ?? 'beacon.internal').toLowerCase().replace(/\.$/, '');
    this.exchange = new DnsExchange({ host: options.host ?? '127.0.0.1', port: options.port ?? 8600 }, options.timeoutMs ?? 2_000);
    this.clock = options.clock ?? systemClock;
    this.random = options.random ?? Math.random;
  }

  /** `_<service>._tcp.service.<domain>`, or `_<service>._<tag>.service.<domain>` (SPEC.md, DNS). */
  nameOf(service: string, tag?: string): string {
    if (!ServiceName.safeParse(service).success) throw new DnsLookupError('EBADNAME', `service ${JSON.stringify(service)}: must be one lower-case DNS label`);
    if (tag !== undefined && !Tag.safeParse(tag).success) throw new DnsLookupError('EBADNAME', `tag ${JSON.stringify(tag)}: must be one lower-case DNS label`);
    return `_${service}._${tag ?? 'tcp'}.service.${this.domain}`;
  }

  /**
   * The service's healthy instances as SRV targets, in the server's order (priority, then a
   * weighted random order drawn when it answered). Rejects with ENOTFOUND for an unknown
   * service or tag, ENODATA when none is healthy.
   */
  async resolve(service: string, tag?: string): Promise<SrvTarget[]> {
    const answer = await this.answerFor(this.nameOf(service, tag));
    return answer.targets.slice();
  }

  /** One target by RFC 2782: lowest priority (passing before warning), then weighted random. */
  async pick(service: string, tag?: string): Promise<SrvTarget> {
    const answer = await this.answerFor(this.nameOf(service, tag));
    return pickByPriorityAndWeight(answer.targets, this.random);
  }

  private answerFor(name: string): Promise<CachedAnswer> {
    const cached = this.cache.get(name);
    if (cached && this.clock.now() < cached.expiresAt) return Promise.resolve(cached);
    this.cache.delete(name);
    let lookup = this.inFlight.get(name);
    if (!lookup) {
      lookup = this.lookup(name).finally(() => this.inFlight.delete(name));
      this.inFlight.set(name, lookup);
    }
    return lookup;
  }

  private async lookup(name: string): Promise<CachedAnswer> {
    const message = await this.exchange.ask(name, 'SRV');
    const records = message.answers.filter((record) => record.type === TYPE_SRV && sameName(record.name, name));
    if (records.length === 0) throw new DnsLookupError('ENODATA', `SRV ${name}: no healthy instance (the name exists but has no SRV records)`);
    const additional = addressesIn(message);
    // Several SRV records may share a target (instances on one address): look each up once.
    const fallbacks = new Map<string, Promise<AddressRecord>>();
    const targets = await Promise.all(
      records.map(async (record): Promise<SrvTarget> => {
        const target = record.target!;
        const key = target.toLowerCase();
        let found = additional.get(key);
        if (!found) {
          if (!fallbacks.has(key)) fallbacks.set(key, this.addressOf(target));
          found = await fallbacks.get(key)!;
        }
        return Object.freeze({
          priority: record.priority!,
          weight: record.weight!,
          port: record.port!,
          target,
          address: found.address,
          // The target is usable only while both its SRV record and its address are fresh.
          ttl: Math.min(record.ttl, found.ttl),
        });
      }),
    );
    const ttl = Math.min(...targets.map((target) => target.ttl));
    const answer: CachedAnswer = { targets, expiresAt: this.clock.now() + ttl * 1000 };
    if (ttl > 0) this.cache.set(name, answer);
    return answer;
  }

  /**
   * The additional section is a courtesy the server drops when an answer is full (docs/dns.md,
   * Sizes), so a target without one is asked for directly: A first, then AAAA.
   */
  private async addressOf(target: string): Promise<AddressRecord> {
    for (const type of ['A', 'AAAA'] as const) {
      const found = addressesIn(await this.exchange.ask(target, type)).get(target.toLowerCase());
      if (found) return found;
    }
    throw new DnsLookupError('ENODATA', `SRV target ${target} has no A or AAAA record`);
  }
}

/** Address records by lower-cased owner name, from the answer and additional sections. */
function addressesIn(message: DnsMessage): Map<string, AddressRecord> {
  const addresses = new Map<string, AddressRecord>();
  const records: DnsRecord[] = [...message.answers, ...message.additionals];
  for (const record of records) {
    if ((record.type === TYPE_A || record.type === TYPE_AAAA) && record.address !== undefined && !addresses.has(record.name.toLowerCase())) {
      addresses.set(record.name.toLowerCase(), { address: record.address, ttl: record.ttl });
    }
  }
  return addresses;
}

/** DNS names compare case-insensitively (RFC 4343). */
function sameName(a: string, b: string): boolean {
  return a.toLowerCase() === b.toLowerCase();
}
