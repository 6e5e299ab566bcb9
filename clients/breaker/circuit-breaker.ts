import type { Clock } from '../../contract/clock.js';
import type { BackoffOptions } from '../backoff.js';
import { FailureWindow, type FailureRateOptions } from './failure-window.js';

/**
 * closed: requests flow, failures are counted.
 * open: no request goes to the instance until the open time runs out.
 * half-open: a bounded number of probes go through; they decide between closed and open.
 */
export type BreakerState = 'closed' | 'open' | 'half-open';

/**
 * The only ways the state changes, each counted in a metric (resilience4j and Envoy name
 * theirs the same way): trip closed→open, probe open→half-open, recover half-open→closed,
 * retrip half-open→open (with a longer open time).
 */
export type BreakerTransition = 'trip' | 'probe' | 'recover' | 'retrip';

export const BREAKER_TRANSITIONS: readonly BreakerTransition[] = ['trip', 'probe', 'recover', 'retrip'];

/** What tripped a breaker: which counter reached its threshold. */
export type TripCause = 'consecutive-failures' | 'consecutive-gateway-errors' | 'failure-rate';

export interface BreakerOptions {
  /** Consecutive failures of any kind that trip the breaker (connect errors, timeouts, 5xx): Envoy's consecutive_5xx. */
  consecutiveFailures: number;
  /**
   * Consecutive gateway errors that trip it (502, 503, 504, and the proxy's own connect
   * failures, resets and timeouts): Envoy's consecutive_gateway_failure. Off when absent.
   */
  consecutiveGatewayErrors?: number;
  /** Also trip when the failure share over a sliding window passes a threshold; off when absent. */
  failureRate?: FailureRateOptions;
  /**
   * How long it stays open, as Envoy's ejection time: `baseMs` × the times it was opened
   * (capped at `maxMs`), that count falling by one for each `decayMs` spent closed.
   */
  openTime: BackoffOptions;
  /** Closed time that takes one off the open-time multiplier; default 10 s (Envoy's interval). */
  decayMs?: number;
  /** Probes let through at once in half-open; this many successes in a row close it. */
  halfOpenProbes: number;
}

export const DEFAULT_BREAKER_OPTIONS: BreakerOptions = {
  consecutiveFailures: 5,
  consecutiveGatewayErrors: 5,
  failureRate: { threshold: 0.5, minimumRequests: 20, windowMs: 10_000 },
  openTime: { baseMs: 1_000, maxMs: 30_000, jitter: 0.2 },
  halfOpenProbes: 1,
};

/**
 * What a caller holds while its request is out: the breaker generation it was admitted in.
 * An outcome from an earlier generation (a request sent before the breaker tripped that
 * fails afterwards) says nothing about the instance's state now, so it is ignored.
 */
export type BreakerPermit = number;

export interface BreakerHooks {
  /** Called on every transition, after the state has changed. */
  transition?(transition: BreakerTransition, breaker: CircuitBreaker): void;
  /**
   * Asked before tripping; false keeps the breaker closed (the pool's max-ejection cap, as
   * Envoy's max_ejection_percent). Asked again on the next failure.
   */
  mayTrip?(breaker: CircuitBreaker): boolean;
}

const DEFAULT_DECAY_MS = 10_000;

/**
 * A circuit breaker for one upstream instance, with Envoy's outlier detection as its trip
 * logic: a plain state machine driven by `admit` and the outcomes reported back, with time
 * read from an injected clock. It owns no timers: an open breaker turns half-open when it is
 * next looked at after its open time. Where Envoy returns an ejected host to full traffic when
 * its time is up, the breaker lets probes through first (half-open), as the SPEC's breaker does.
 * Its settings are read when it is made and on every failure, so a policy change applies to
 * the next trip.
 */
export class CircuitBreaker {
  private current: BreakerState = 'closed';
  private generation = 0;
  private consecutive = 0;
  private consecutiveGateway = 0;
  private openUntil = 0;
  private probesOut = 0;
  private probeSuccesses = 0;
  /** Envoy's ejection multiplier: times opened, less one per decay period spent closed. */
  private ejections = 0;
  private closedSince = 0;
  private cause: TripCause = 'consecutive-failures';
  private readonly settings: () => BreakerOptions;
  private readonly window: FailureWindow | undefined;

  constructor(
    options: BreakerOptions | (() => BreakerOptions),
    private readonly clock: Clock,
    private readonly hooks: BreakerHooks = {},
    private readonly random: () => number = Math.random,
  ) {
    this.settings = typeof options === 'function' ? options : () => options;
    const first = this.settings();
    if (!(first.consecutiveFailures >= 1)) throw new RangeError('consecutiveFailures must be at least 1');
    if (!(first.halfOpenProbes >= 1)) throw new RangeError('halfOpenProbes must be at least 1');
    if (!(first.openTime.baseMs > 0) || !(first.openTime.maxMs >= first.openTime.baseMs)) throw new RangeError('open time needs 0 < baseMs <= maxMs');
    this.window = first.failureRate ? new FailureWindow(first.failureRate) : undefined;
    this.closedSince = clock.now();
  }

  /** Which counter tripped the breaker last. */
  get tripCause(): TripCause {
    return this.cause;
  }

  /** The open-time multiplier the next opening starts from (before the decay for time closed). */
  get ejectionCount(): number {
    return this.ejections;
  }

  get state(): BreakerState {
    if (this.current === 'open' && this.clock.now() >= this.openUntil) this.move('half-open', 'probe');
    return this.current;
  }

  /** When an open breaker will let a probe through (ms since the epoch); 0 otherwise. */
  get reopensAt(): number {
    return this.current === 'open' ? this.openUntil : 0;
  }

  /** Whether `admit` would let a request through now (reserves nothing). */
  get admits(): boolean {
    const state = this.state;
    return state === 'closed' || (state === 'half-open' && this.probesOut < this.settings().halfOpenProbes);
  }

  /** Lets a request through, or answers undefined; in half-open each admission is a probe. */
  admit(): BreakerPermit | undefined {
    const state = this.state;
    if (state === 'closed') return this.generation;
    if (state === 'half-open' && this.probesOut < this.settings().halfOpenProbes) {
      this.probesOut += 1;
      return this.generation;
    }
    return undefined;
  }

  /**
   * A request sent without asking (the pool's panic mode sends to instances whatever their
   * breaker says): its outcome still counts while the breaker is closed.
   */
  get bypassPermit(): BreakerPermit {
    return this.current === 'closed' ? this.generation : -1;
  }

  succeeded(permit: BreakerPermit): void {
    if (permit !== this.generation) return;
    if (this.current === 'closed') {
      this.consecutive = 0;
      this.consecutiveGateway = 0;
      this.window?.record(this.clock.now(), false);
    } else if (this.current === 'half-open') {
      this.probesOut -= 1;
      this.probeSuccesses += 1;
      if (this.probeSuccesses >= this.settings().halfOpenProbes) {
        this.closedSince = this.clock.now();
        this.move('closed', 'recover');
      }
    }
  }

  /**
   * A failure; `gateway` for a 502, 503 or 504, or an instance that could not be reached or
   * broke off (Envoy maps those to gateway errors too). Another 5xx breaks a run of gateway
   * errors, as in Envoy, while both count as failures.
   */
  failed(permit: BreakerPermit, gateway = false): void {
    if (permit !== this.generation) return;
    if (this.current === 'closed') {
      const options = this.settings();
      this.consecutive += 1;
      this.consecutiveGateway = gateway ? this.consecutiveGateway + 1 : 0;
      const rateTripped = this.window?.record(this.clock.now(), true) ?? false;
      let cause: TripCause | undefined;
      if (options.consecutiveGatewayErrors !== undefined && this.consecutiveGateway >= options.consecutiveGatewayErrors) cause = 'consecutive-gateway-errors';
      else if (this.consecutive >= options.consecutiveFailures) cause = 'consecutive-failures';
      else if (rateTripped) cause = 'failure-rate';
      if (cause !== undefined && (this.hooks.mayTrip?.(this) ?? true)) {
        this.cause = cause;
        this.open('trip');
      }
    } else if (this.current === 'half-open') {
      this.open('retrip');
    }
  }

  /** A request that ended without telling anything about the instance (the client went away). */
  abandoned(permit: BreakerPermit): void {
    if (permit === this.generation && this.current === 'half-open') this.probesOut -= 1;
  }

  private open(transition: 'trip' | 'retrip'): void {
    const now = this.clock.now();
    const { openTime, decayMs = DEFAULT_DECAY_MS } = this.settings();
    if (transition === 'trip') this.ejections = Math.max(0, this.ejections - Math.floor((now - this.closedSince) / decayMs));
    // Capped where the time is, so time closed brings it down again as soon as it matters.
    this.ejections = Math.min(this.ejections + 1, Math.ceil(openTime.maxMs / openTime.baseMs));
    const ms = Math.min(openTime.maxMs, openTime.baseMs * this.ejections);
    this.openUntil = now + ms * (1 - openTime.jitter * this.random());
    this.move('open', transition);
  }

  private move(state: BreakerState, transition: BreakerTransition): void {
    this.current = state;
    this.generation += 1;
    this.consecutive = 0;
    this.consecutiveGateway = 0;
    this.probesOut = 0;
    this.probeSuccesses = 0;
    this.window?.clear();
    this.hooks.transition?.(transition, this);
  }
}
