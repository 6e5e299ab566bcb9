import { type Clock, systemClock } from '../../contract/clock.js';
import type { Endpoint } from '../balancing/endpoint.js';
import type { BalancingPolicy } from '../balancing/policy.js';
import { type RampedEndpoint, SlowStart } from '../balancing/slow-start.js';
import type { EffectivePolicy } from '../policy/effective-policy.js';
import { type BreakerOptions, type BreakerPermit, type BreakerTransition, CircuitBreaker, DEFAULT_BREAKER_OPTIONS } from '../breaker/circuit-breaker.js';

/** Where an instance listens, as the registry lists it. */
export interface UpstreamAddress {
  id: string;
  address: string;
  port: number;
  weight: number;
  /** The name its TLS certificate is checked against (its `meta["tls-server-name"]`); else its address. */
  tlsServerName?: string | undefined;
}

/** One instance traffic can go to: its address, its weight, its load and its breaker. */
export class Upstream implements Endpoint, RampedEndpoint {
  /** Requests (or connections) in flight. */
  active = 0;
  /** When it became usable (added, or its breaker closed); -Infinity for the pool's first set. */
  usableSince = Number.NEGATIVE_INFINITY;
  /** Slow start's share of its weight (1: full weight). */
  ramp = 1;
  /**
   * Not to be picked before this time (ms since the epoch): the instance answered 429 or 503
   * with a Retry-After (SPEC: Traffic policy). 0 when it asked for nothing.
   */
  retryAfterUntil = 0;

  constructor(
    readonly id: string,
    readonly address: string,
    readonly port: number,
    public weight: number,
    readonly breaker: CircuitBreaker,
    readonly tlsServerName?: string,
  ) {}

  /** `host:port`, with IPv6 addresses bracketed as URLs need them. */
  get hostPort(): string {
    return this.address.includes(':') ? `[${this.address}]:${this.port}` : `${this.address}:${this.port}`;
  }
}

/** A pick: the upstream and the breaker permit its outcome must be reported with. */
export interface UpstreamPick {
  upstream: Upstream;
  permit: BreakerPermit;
  /** Picked in panic mode: breakers were looked past. */
  panic: boolean;
}

export type AttemptOutcome = 'success' | 'failure' | 'abandoned';

export interface UpstreamPoolOptions {
  policy: BalancingPolicy<Upstream>;
  breaker?: BreakerOptions;
  /**
   * Envoy's healthy panic threshold (default 0.5): when fewer than this share of the instances
   * are usable (breaker closed, or half-open with room for a probe), breakers are looked past
   * and traffic spreads over every instance the registry calls healthy. Better some errors on
   * all instances than the whole load on the few a burst of failures left standing.
   */
  panicThreshold?: number;
  /**
   * Envoy's max_ejection_percent (default 0.5): at most this share of the instances may have
   * an open or half-open breaker; a breaker that would pass it stays closed. At least one
   * instance may always be ejected.
   */
  maxEjectedShare?: number;
  /**
   * Envoy's slow start (default 0: off): an instance added to the set, or back after its
   * breaker closed, ramps from 10% to its full weight over this many ms (`setSlowStart`
   * changes it live). Not under ring-hash, whose ring must not move with a ramp.
   */
  slowStartMs?: number;
  /**
   * The policy in force, when the pool follows one: its outlier settings (thresholds, ejection
   * times, max ejection) and panic threshold replace `breaker`'s and the two shares above,
   * read on each pick and each failure so a change applies at once.
   */
  trafficPolicy?: () => Pick<EffectivePolicy, 'outlier' | 'panicThreshold'>;
  clock?: Clock;
  random?: () => number;
  hooks?: UpstreamPoolHooks;
}

export interface UpstreamPoolHooks {
  transition?(transition: BreakerTransition, upstream: Upstream): void;
  /** A pick made in panic mode. */
  panicked?(): void;
  /** A breaker kept closed by the ejection cap. */
  ejectionRefused?(upstream: Upstream): void;
  /** An instance that left the set: release whatever was kept for it (connection pools). */
  removed?(upstream: Upstream): void;
}

/**
 * The instances one service's traffic is balanced over: the registry's healthy set (via
 * `update`), each with a circuit breaker, picked by a balancing policy. Usable in-process as a
 * library and by `beacon proxy` alike; plain state driven by method calls and a clock.
 */
export class UpstreamPool {
  private upstreams: Upstream[] = [];
  private readonly candidates: Upstream[] = [];
  private policy: BalancingPolicy<Upstream>;
  private breakerOptions: BreakerOptions;
  private panicThreshold: number;
  private maxEjectedShare: number;
  private readonly clock: Clock;
  private readonly random: () => number;
  private readonly hooks: UpstreamPoolHooks;
  private readonly slowStart: SlowStart<Upstream>;
  private readonly trafficPolicy: (() => Pick<EffectivePolicy, 'outlier' | 'panicThreshold'>) | undefined;
  private panicking = false;
  private outlierSeen: EffectivePolicy['outlier'] | undefined;
  private outlierOptions: BreakerOptions;

  constructor(options: UpstreamPoolOptions) {
    this.policy = options.policy;
    this.breakerOptions = options.breaker ?? DEFAULT_BREAKER_OPTIONS;
    this.panicThreshold = options.panicThreshold ?? 0.5;
    this.maxEjectedShare = options.maxEjectedShare ?? 0.5;
    this.clock = options.clock ?? systemClock;
    this.random = options.random ?? Math.random;
    this.hooks = options.hooks ?? {};
    this.slowStart = new SlowStart(options.slowStartMs ?? 0);
    this.trafficPolicy = options.trafficPolicy;
    this.outlierOptions = this.breakerOptions;
    if (!(this.panicThreshold >= 0 && this.panicThreshold <= 1)) throw new RangeError('panicThreshold must be between 0 and 1');
    if (!(this.maxEjectedShare >= 0 && this.maxEjectedShare <= 1)) throw new RangeError('maxEjectedShare must be between 0 and 1');
  }

  /** The current instances, in the registry's order. */
  get members(): readonly Upstream[] {
    return this.upstreams;
  }

  /** Whether the last pick was made in panic mode. */
  get inPanic(): boolean {
    return this.panicking;
  }

  /** The slow-start window in force, in ms (0: off). */
  get slowStartMs(): number {
    return this.slowStart.window;
  }

  /** Changes the slow-start window live: instances that became usable within it ramp from where they are. */
  setSlowStart(windowMs: number): void {
    this.slowStart.setWindow(windowMs, this.upstreams, this.clock.now());
  }

  /**
   * Replaces the set with the registry's healthy instances. An instance that stays (same id,
   * address, port and TLS server name) keeps its breaker and load; a moved one starts afresh, and slow start
   * ramps it up. The first set after an empty pool starts at full weight: ramping everyone
   * alike would change no one's share.
   */
  update(addresses: readonly UpstreamAddress[]): void {
    const previous = new Map(this.upstreams.map((upstream) => [upstream.id, upstream]));
    const ramps = this.upstreams.length > 0;
    const next: Upstream[] = [];
    for (const { id, address, port, weight, tlsServerName } of addresses) {
      const kept = previous.get(id);
      if (kept && kept.address === address && kept.port === port && kept.tlsServerName === tlsServerName) {
        kept.weight = weight;
        previous.delete(id);
        next.push(kept);
      } else {
        const added = this.createUpstream(id, address, port, weight, tlsServerName);
        if (ramps) this.slowStart.began(added, this.clock.now());
        next.push(added);
      }
    }
    this.upstreams = next;
    for (const gone of previous.values()) {
      this.slowStart.forget(gone);
      this.hooks.removed?.(gone);
    }
  }

  /**
   * Picks an instance, leaving out those in `tried` (a retry goes elsewhere). Undefined when
   * nothing is left. The caller must report the outcome with `release`. `key` is the request's
   * hash key, for ring-hash (a header's or cookie's value, the client's address in TCP mode).
   */
  choose(tried: readonly Upstream[] = [], key?: string): UpstreamPick | undefined {
    if (this.slowStart.size !== 0) this.slowStart.advance(this.clock.now());
    const all = this.upstreams;
    const candidates = this.candidates;
    candidates.length = 0;
    let usable = 0;
    let now = 0;
    for (const upstream of all) {
      if (upstream.retryAfterUntil !== 0) {
        if (upstream.retryAfterUntil > (now ||= this.clock.now())) continue;
        upstream.retryAfterUntil = 0;
      }
      if (!upstream.breaker.admits) continue;
      usable += 1;
      if (!tried.includes(upstream)) candidates.push(upstream);
    }
    const panicThreshold = this.trafficPolicy ? this.trafficPolicy().panicThreshold : this.panicThreshold;
    this.panicking = all.length > 0 && usable < all.length * panicThreshold;
    if (this.panicking) {
      candidates.length = 0;
      // Past breakers, not past an instance's own Retry-After.
      for (const upstream of all) if (!tried.includes(upstream) && upstream.retryAfterUntil === 0) candidates.push(upstream);
    }
    const upstream = this.policy.pick(candidates, key, all);
    candidates.length = 0;
    if (!upstream) return undefined;
    let permit = upstream.breaker.admit();
    if (permit === undefined) {
      // Only in panic mode can the pick be an instance its breaker would refuse.
      permit = upstream.breaker.bypassPermit;
    }
    if (this.panicking) this.hooks.panicked?.();
    upstream.active += 1;
    return { upstream, permit, panic: this.panicking };
  }

  /**
   * Reports how a pick's request ended: its breaker learns from it and the load drops.
   * `gateway` marks a failure as a gateway error (502/503/504, connect failure, reset, timeout).
   */
  release(pick: UpstreamPick, outcome: AttemptOutcome, gateway = false): void {
    this.report(pick, outcome, gateway);
    this.finish(pick);
  }

  /**
   * Tells the pick's breaker how the instance did, while the work may go on (a TCP connection
   * is a success once connected, however long it then stays open). Report once per pick.
   */
  report(pick: UpstreamPick, outcome: AttemptOutcome, gateway = false): void {
    const { breaker } = pick.upstream;
    if (outcome === 'success') breaker.succeeded(pick.permit);
    else if (outcome === 'failure') breaker.failed(pick.permit, gateway);
    else breaker.abandoned(pick.permit);
  }

  /** The pick's work is over: the instance's load drops. Once per pick. */
  finish(pick: UpstreamPick): void {
    pick.upstream.active -= 1;
  }

  /** The balancing policy in use. */
  get balancing(): BalancingPolicy<Upstream> {
    return this.policy;
  }

  /**
   * Balances from the next pick on with another policy (a traffic policy changed). Picks made
   * are unaffected: a pick holds its upstream, not the policy.
   */
  setBalancing(policy: BalancingPolicy<Upstream>): void {
    this.policy = policy;
  }

  /** New thresholds (shares, 0-1) for the next pick and the next trip. */
  setThresholds(thresholds: { panicThreshold: number; maxEjectedShare: number }): void {
    if (!(thresholds.panicThreshold >= 0 && thresholds.panicThreshold <= 1)) throw new RangeError('panicThreshold must be between 0 and 1');
    if (!(thresholds.maxEjectedShare >= 0 && thresholds.maxEjectedShare <= 1)) throw new RangeError('maxEjectedShare must be between 0 and 1');
    this.panicThreshold = thresholds.panicThreshold;
    this.maxEjectedShare = thresholds.maxEjectedShare;
  }

  /**
   * Breaker settings for instances that join from now on. A breaker keeps the settings it was
   * made with: changing them under one mid-count would make its state mean nothing.
   */
  setBreakerOptions(options: BreakerOptions): void {
    this.breakerOptions = options;
  }

  /** Whether some instance not in `tried` would be admitted by its breaker (without panic). */
  hasUsable(tried: readonly Upstream[] = []): boolean {
    let now = 0;
    for (const upstream of this.upstreams) {
      // The clock is read only for an instance that asked to be left alone (rare), not per request.
      const heldOff = upstream.retryAfterUntil !== 0 && upstream.retryAfterUntil > (now ||= this.clock.now());
      if (!heldOff && upstream.breaker.admits && !tried.includes(upstream)) return true;
    }
    return false;
  }

  /** The instance asked not to be sent anything for `ms` (a Retry-After): no pick includes it until then. */
  holdOff(upstream: Upstream, ms: number): void {
    upstream.retryAfterUntil = this.clock.now() + ms;
  }

  /** Instances whose breaker is not closed. */
  get ejected(): number {
    let count = 0;
    for (const upstream of this.upstreams) if (upstream.breaker.state !== 'closed') count += 1;
    return count;
  }

  private createUpstream(id: string, address: string, port: number, weight: number, tlsServerName: string | undefined): Upstream {
    let upstream: Upstream | undefined;
    const breaker = new CircuitBreaker(
      this.trafficPolicy ? this.breakerSettings : this.breakerOptions,
      this.clock,
      {
        transition: (transition) => {
          // Back from an ejection: as cold as a new instance, so it ramps up again (Envoy does the same).
          if (transition === 'recover') this.slowStart.began(upstream!, this.clock.now());
          this.hooks.transition?.(transition, upstream!);
        },
        mayTrip: () => {
          const share = this.trafficPolicy ? this.trafficPolicy().outlier.maxEjection : this.maxEjectedShare;
          const allowed = Math.max(1, Math.floor(this.upstreams.length * share));
          if (this.ejected < allowed) return true;
          this.hooks.ejectionRefused?.(upstream!);
          return false;
        },
      },
      this.random,
    );
    upstream = new Upstream(id, address, port, weight, breaker, tlsServerName);
    return upstream;
  }

  /** The breakers' settings under the policy in force: rebuilt only when the policy's outlier settings change. */
  private readonly breakerSettings = (): BreakerOptions => {
    const { outlier } = this.trafficPolicy!();
    if (outlier !== this.outlierSeen) {
      this.outlierSeen = outlier;
      this.outlierOptions = {
        ...this.breakerOptions,
        consecutiveFailures: outlier.consecutiveFailures,
        consecutiveGatewayErrors: outlier.consecutiveGatewayErrors,
        openTime: { baseMs: outlier.baseEjectionTimeMs, maxMs: outlier.maxEjectionTimeMs, jitter: this.breakerOptions.openTime.jitter },
      };
    }
    return this.outlierOptions;
  };
}
