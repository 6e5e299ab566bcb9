import type { FailoverTarget } from '../policy/effective-policy.js';
import type { AttemptOutcome, Upstream, UpstreamAddress, UpstreamPick, UpstreamPool } from './upstream-pool.js';

/** A healthy instance of the service with its tags, which `split` and `failover` select by. */
export interface TaggedAddress extends UpstreamAddress {
  tags: readonly string[];
}

/** Another service's instances, followed while a failover names it. */
export interface FollowedService {
  close(): Promise<void> | void;
}

export interface TrafficRouterOptions {
  /** A pool with the settings in force; one is made per group of instances. */
  newPool(): UpstreamPool;
  /** Starts following another service's healthy instances (a failover target), feeding `update`. */
  follow(service: string, update: (instances: readonly UpstreamAddress[]) => void): FollowedService;
}

/** What the forwarders pick from: one pool, or a router over several. */
export interface UpstreamChooser {
  /** `key`: the request's ring-hash key, if the balancing in force hashes. */
  choose(tried?: readonly Upstream[], key?: string): UpstreamPick | undefined;
  /** `gateway`: the failure was a 502/503/504 or a connect failure (outlier detection counts those apart). */
  release(pick: UpstreamPick, outcome: AttemptOutcome, gateway?: boolean): void;
  report(pick: UpstreamPick, outcome: AttemptOutcome, gateway?: boolean): void;
  /** The instance asked not to be sent anything for `ms` (a Retry-After). */
  holdOff(upstream: Upstream, ms: number): void;
  finish(pick: UpstreamPick): void;
  readonly members: readonly Upstream[];
  readonly ejected: number;
  readonly inPanic: boolean;
}

interface SplitGroup {
  tag: string;
  weight: number;
  pool: UpstreamPool;
  /** Smooth weighted round-robin score (as SmoothWeightedRoundRobin does for instances). */
  score: number;
}

/**
 * Routes each request to a group of the service's instances, then lets that group's pool pick
 * the instance (SPEC: Traffic policy, `split` and `failover`):
 * - without `split`, the group is the whole service, less the instances carrying a failover
 *   tag (they are the standbys);
 * - with `split`, groups are the instances carrying each tag (an instance with two of the tags
 *   is in both), chosen by smooth weighted round-robin on the weights, so 90/10 is exact over
 *   every ten requests rather than only on average; a request's retries stay in its group;
 * - when the chosen group has no usable instance (none healthy, or every breaker open), the
 *   `failover` targets are tried in order, then the other split groups; only when nothing is
 *   usable anywhere does the primary group pick in panic mode (Envoy's order: priorities
 *   first, panic last).
 * Groups are plain UpstreamPools, each with its own breakers; a group the policy stops naming
 * is emptied, so the forwarder lets go of its connections.
 */
export class TrafficRouter implements UpstreamChooser {
  /**
   * The primary group without a split: the service's instances, less those carrying a
   * failover tag (standbys wait for their turn). Also the pool that settles every pick.
   */
  private readonly all: UpstreamPool;
  private failoverTags: readonly string[] = [];
  private readonly tagPools = new Map<string, UpstreamPool>();
  private readonly servicePools = new Map<string, { pool: UpstreamPool; followed: FollowedService }>();
  private split: SplitGroup[] = [];
  private splitTotal = 0;
  private failover: UpstreamPool[] = [];
  private instances: readonly TaggedAddress[] = [];
  private memberList: readonly Upstream[] = [];
  private lastPool: UpstreamPool;

  constructor(private readonly options: TrafficRouterOptions) {
    this.all = this.lastPool = options.newPool();
  }

  /** The service's healthy instances changed. */
  update(instances: readonly TaggedAddress[]): void {
    this.instances = instances;
    this.all.update(this.failoverTags.length === 0 ? instances : instances.filter((instance) => !this.failoverTags.some((tag) => instance.tags.includes(tag))));
    for (const [tag, pool] of this.tagPools) pool.update(instances.filter((instance) => instance.tags.includes(tag)));
    this.refreshMembers();
  }

  /** Puts a policy's `split` and `failover` in force from the next pick on. */
  route(split: readonly { tag: string; weight: number }[] | undefined, failover: readonly FailoverTarget[] | undefined): void {
    const tagsUsed = new Set<string>();
    const servicesUsed = new Set<string>();
    this.split = (split ?? []).filter((share) => share.weight > 0).map((share) => {
      tagsUsed.add(share.tag);
      return { tag: share.tag, weight: share.weight, pool: this.tagPool(share.tag), score: 0 };
    });
    this.splitTotal = this.split.reduce((total, group) => total + group.weight, 0);
    const failoverTags: string[] = [];
    this.failover = (failover ?? []).map((target) => {
      if ('tag' in target) {
        tagsUsed.add(target.tag);
        failoverTags.push(target.tag);
        return this.tagPool(target.tag);
      }
      servicesUsed.add(target.service);
      return this.servicePool(target.service);
    });
    for (const [tag, pool] of this.tagPools) {
      if (tagsUsed.has(tag)) continue;
      this.tagPools.delete(tag);
      pool.update([]);
    }
    for (const [service, { pool, followed }] of this.servicePools) {
      if (servicesUsed.has(service)) continue;
      this.servicePools.delete(service);
      pool.update([]);
      void followed.close();
    }
    this.failoverTags = failoverTags;
    this.update(this.instances);
  }

  /** Every pool in use, for settings that change (balancing, thresholds, breakers). */
  *pools(): Iterable<UpstreamPool> {
    yield this.all;
    yield* this.tagPools.values();
    for (const { pool } of this.servicePools.values()) yield pool;
  }

  /** The groups in use with their members, for /stats. */
  groups(): { group: string; members: readonly Upstream[] }[] {
    return [
      ...(this.split.length === 0 ? [{ group: 'service', members: this.all.members }] : []),
      ...[...this.tagPools].map(([tag, pool]) => ({ group: `tag:${tag}`, members: pool.members })),
      ...[...this.servicePools].map(([service, { pool }]) => ({ group: `service:${service}`, members: pool.members })),
    ];
  }

  choose(tried: readonly Upstream[] = [], key?: string): UpstreamPick | undefined {
    // The common case, no split and no failover, costs one branch over a bare pool.
    if (this.split.length === 0 && this.failover.length === 0) return this.pick(this.all, tried, key);
    // A retry stays in the split group its request was routed to (Envoy picks a weighted
    // cluster once per request), so retries neither skew the split nor move the rotation.
    const primary = this.split.length === 0 ? this.all : ((tried.length > 0 && this.splitGroupHolding(tried[0]!)) || this.nextSplitGroup());
    if (primary.hasUsable(tried)) return this.pick(primary, tried, key);
    for (const pool of this.failover) if (pool.hasUsable(tried)) return this.pick(pool, tried, key);
    for (const group of this.split) if (group.pool.hasUsable(tried)) return this.pick(group.pool, tried, key);
    return this.pick(primary, tried, key) ?? this.firstPick(tried, key);
  }

  // A pick's outcome concerns only its upstream's breaker and load, whatever pool made it.
  release(pick: UpstreamPick, outcome: AttemptOutcome, gateway = false): void {
    this.all.release(pick, outcome, gateway);
  }

  report(pick: UpstreamPick, outcome: AttemptOutcome, gateway = false): void {
    this.all.report(pick, outcome, gateway);
  }

  holdOff(upstream: Upstream, ms: number): void {
    this.all.holdOff(upstream, ms);
  }

  finish(pick: UpstreamPick): void {
    this.all.finish(pick);
  }

  /** Every instance traffic may go to now: the groups in use and the failover targets. */
  get members(): readonly Upstream[] {
    return this.memberList;
  }

  get ejected(): number {
    let count = 0;
    for (const pool of this.poolsInUse()) count += pool.ejected;
    return count;
  }

  /** Whether the last pick was made in panic mode. */
  get inPanic(): boolean {
    return this.lastPool.inPanic;
  }

  private pick(pool: UpstreamPool, tried: readonly Upstream[], key?: string): UpstreamPick | undefined {
    this.lastPool = pool;
    return pool.choose(tried, key);
  }

  /** Panic mode anywhere, in failover order, when the primary has no instance at all. */
  private firstPick(tried: readonly Upstream[], key?: string): UpstreamPick | undefined {
    for (const pool of this.failover) {
      const pick = this.pick(pool, tried, key);
      if (pick) return pick;
    }
    return undefined;
  }

  private splitGroupHolding(upstream: Upstream): UpstreamPool | undefined {
    return this.split.find((group) => group.pool.members.includes(upstream))?.pool;
  }

  private nextSplitGroup(): UpstreamPool {
    let best = this.split[0]!;
    for (const group of this.split) {
      group.score += group.weight;
      if (group.score > best.score) best = group;
    }
    best.score -= this.splitTotal;
    return best.pool;
  }

  private tagPool(tag: string): UpstreamPool {
    let pool = this.tagPools.get(tag);
    if (!pool) {
      pool = this.options.newPool();
      pool.update(this.instances.filter((instance) => instance.tags.includes(tag)));
      this.tagPools.set(tag, pool);
    }
    return pool;
  }

  private servicePool(service: string): UpstreamPool {
    const known = this.servicePools.get(service);
    if (known) return known.pool;
    const pool = this.options.newPool();
    const followed = this.options.follow(service, (instances) => {
      pool.update(instances);
      this.refreshMembers();
    });
    this.servicePools.set(service, { pool, followed });
    return pool;
  }

  private poolsInUse(): UpstreamPool[] {
    return [...new Set([...(this.split.length === 0 ? [this.all] : this.split.map((group) => group.pool)), ...this.failover])];
  }

  private refreshMembers(): void {
    const members = new Set<Upstream>();
    for (const pool of this.poolsInUse()) for (const upstream of pool.members) members.add(upstream);
    this.memberList = [...members];
  }

  /** Stops following failover services. */
  async close(): Promise<void> {
    const followed = [...this.servicePools.values()].map((entry) => entry.followed.close());
    this.servicePools.clear();
    await Promise.all(followed);
  }
}
