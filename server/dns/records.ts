import { isIP } from 'node:net';
import type { Registry } from '../registry/registry.js';
import { statusOf } from '../registry/health.js';
import type { InstanceRecord } from '../registry/instance-record.js';
import { CLASS_IN, encodeName, TYPE } from './message.js';
import { addressTarget, ipv4Bytes, ipv6Bytes, type Zone } from './zone.js';

/**
 * Each servable instance's DNS records, kept in wire format and rebuilt only when the
 * instance changes, so answering a query copies bytes instead of encoding records
 * (encoding each answer with dns2's Packet cost several times a whole query's CPU; figures in
 * docs/benchmarks.md).
 *
 * Records are stored without their owner name: the responder writes a 2-byte compression
 * pointer in front (to the question, or for additional records to the SRV target).
 */
export interface InstanceRecords {
  weight: number;
  /** SRV priority: 1 passing, 2 warning (SPEC: passing before warning). */
  priority: 1 | 2;
  tags: readonly string[];
  family: 4 | 6;
  /** TYPE..RDATA of the A or AAAA record for the instance's address. */
  address: Buffer;
  /** TYPE..RDATA of the SRV record; its target, uncompressed per RFC 2782, starts at SRV_TARGET_OFFSET. */
  srv: Buffer;
  /** Identifies the target name, so one address's additional record is written once. */
  target: string;
}

/** Where the target name starts within `srv`: TYPE, CLASS, TTL, RDLENGTH, priority, weight, port. */
export const SRV_TARGET_OFFSET = 2 + 2 + 4 + 2 + 6;

/** The records one kind of question is answered from: passing ones first, then warning ones. */
export interface AnswerRecords {
  passing: readonly InstanceRecords[];
  warning: readonly InstanceRecords[];
  /** No two entries share a target, so additional records need no de-duplication. */
  distinctTargets: boolean;
}

/** Which addresses a question wants: any (SRV), IPv4 (A) or IPv6 (AAAA). */
export type Family = 0 | 4 | 6;

export class ServiceRecords {
  /** Untagged answer records by family (0, 4, 6): the usual question, found without a map. */
  private readonly untagged: (AnswerRecords | undefined)[] = [];
  private readonly tagged = new Map<string, Map<Family, AnswerRecords>>();

  constructor(
    /** The registry's change index for the service when this was built. */
    readonly index: number,
    /** Whether the service has any instance at all, healthy or not (NXDOMAIN vs no data). */
    readonly exists: boolean,
    /** Every tag carried by any of its instances: tag names exist even with nothing healthy. */
    readonly tags: ReadonlySet<string>,
    /** The healthy instances (passing and warning), maintenance and critical left out. */
    readonly healthy: readonly InstanceRecords[],
  ) {}

  /**
   * The healthy records carrying `tag` ('' for any) of one family, filtered once per service
   * version and kept, so a query filters nothing.
   */
  select(tag: string, family: Family): AnswerRecords {
    if (tag === '') return (this.untagged[family] ??= this.filter(tag, family));
    let byFamily = this.tagged.get(tag);
    if (!byFamily) this.tagged.set(tag, (byFamily = new Map()));
    let records = byFamily.get(family);
    if (!records) byFamily.set(family, (records = this.filter(tag, family)));
    return records;
  }

  private filter(tag: string, family: Family): AnswerRecords {
    const chosen = this.healthy.filter((entry) => (tag === '' || entry.tags.includes(tag)) && (family === 0 || entry.family === family));
    return {
      passing: chosen.filter((entry) => entry.priority === 1),
      warning: chosen.filter((entry) => entry.priority === 2),
      distinctTargets: new Set(chosen.map((entry) => entry.target)).size === chosen.length,
    };
  }
}

export class ZoneRecords {
  private readonly byInstance = new WeakMap<Readonly<InstanceRecord>, InstanceRecords>();
  private readonly byService = new Map<string, ServiceRecords>();

  constructor(
    private readonly registry: Registry,
    private readonly zone: Zone,
    private readonly ttl: number,
  ) {}

  /** Current records of a service: rebuilt when its change index moved, so never stale. */
  service(name: string): ServiceRecords {
    const index = this.registry.serviceIndex(name);
    const cached = this.byService.get(name);
    if (cached && cached.index === index) return cached;
    const built = this.build(name, index);
    if (built.exists) this.byService.set(name, built);
    else this.byService.delete(name);
    return built;
  }

  /** A or AAAA record data for an address target name. */
  addressRecord(address: string, family: 4 | 6): Buffer {
    return resourceTail(family === 4 ? TYPE.A : TYPE.AAAA, this.ttl, family === 4 ? ipv4Bytes(address) : ipv6Bytes(address));
  }

  private build(name: string, index: number): ServiceRecords {
    const instances = this.registry.serviceInstances(name);
    const tags = new Set<string>();
    const healthy: InstanceRecords[] = [];
    let exists = false;
    for (const instance of instances ?? []) {
      exists = true;
      for (const tag of instance.tags) tags.add(tag);
      const status = statusOf(instance);
      if (status !== 'passing' && status !== 'warning') continue;
      healthy.push(this.recordsOf(instance, status === 'passing' ? 1 : 2));
    }
    return new ServiceRecords(index, exists, tags, healthy);
  }

  private recordsOf(instance: Readonly<InstanceRecord>, priority: 1 | 2): InstanceRecords {
    const cached = this.byInstance.get(instance);
    if (cached && cached.priority === priority) return cached;
    const family = isIP(instance.address) === 4 ? 4 : 6;
    const target = addressTarget(this.zone, instance.address);
    const srvData = Buffer.concat([uint16s(priority, instance.weight, instance.port), encodeName(target)]);
    const records: InstanceRecords = {
      weight: instance.weight,
      priority,
      tags: instance.tags,
      family,
      address: this.addressRecord(instance.address, family),
      srv: resourceTail(TYPE.SRV, this.ttl, srvData),
      target: target[0]!,
    };
    this.byInstance.set(instance, records);
    return records;
  }
}

/** TYPE, CLASS IN, TTL, RDLENGTH and RDATA: a resource record without its owner name. */
export function resourceTail(type: number, ttl: number, rdata: Buffer): Buffer {
  const tail = Buffer.alloc(10 + rdata.length);
  tail.writeUInt16BE(type, 0);
  tail.writeUInt16BE(CLASS_IN, 2);
  tail.writeUInt32BE(ttl, 4);
  tail.writeUInt16BE(rdata.length, 8);
  rdata.copy(tail, 10);
  return tail;
}

function uint16s(...values: number[]): Buffer {
  const buffer = Buffer.alloc(values.length * 2);
  values.forEach((value, i) => buffer.writeUInt16BE(value, i * 2));
  return buffer;
}
