import type { Clock } from '../../contract/clock.js';
import { Backoff, type BackoffOptions } from '../backoff.js';
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

export interface BreakerOptions {
  /** Consecutive failures that trip the breaker (connect errors, timeouts, 5xx). */
  consecutiveFailures: number;
  /** Also trip when the failure share over a sliding window passes a threshold; off when absent. */
  failureRate?: FailureRateOptions;
  /** How long it stays open: grows with each retrip, back to the base after a recovery. */
  openTime: BackoffOptions;
  /** Probes let through at once in half-open; this many successes in a row close it. */
  halfOpenProbes: number;
}

export const DEFAULT_BREAKER_OPTIONS: BreakerOptions = {
  consecutiveFailures: 5,
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

/**
 * A circuit breaker for one upstream instance: a plain state machine driven by `admit` and
 * the outcomes reported back, with time read from an injected clock. It owns no timers: an
 * open breaker turns half-open when it is next looked at after its open time.
 */
export class CircuitBreaker {
  private current: BreakerState = 'closed';
  private generation = 0;
  private consecutive = 0;
  private openUntil = 0;
  private probesOut = 0;
  private probeSuccesses = 0;
  private readonly openTime: Backoff;
  private readonly window: FailureWindow | undefined;

  constructor(
    private readonly options: BreakerOptions,
    private readonly clock: Clock,
    private readonly hooks: BreakerHooks = {},
    random: () => number = Math.random,
  ) {
    if (!(options.consecutiveFailures >= 1)) throw new RangeError('consecutiveFailures must be at least 1');
    if (!(options.halfOpenProbes >= 1)) throw new RangeError('halfOpenProbes must be at least 1');
    this.openTime = new Backoff(options.openTime, random);
    this.window = options.failureRate ? new FailureWindow(options.failureRate) : undefined;
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
    return state === 'closed' || (state === 'half-open' && this.probesOut < this.options.halfOpenProbes);
  }

  /** Lets a request through, or answers undefined; in half-open each admission is a probe. */
  admit(): BreakerPermit | undefined {
    const state = this.state;
    if (state === 'closed') return this.generation;
    if (state === 'half-open' && this.probesOut < this.options.halfOpenProbes) {
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
      this.window?.record(this.clock.now(), false);
    } else if (this.current === 'half-open') {
      this.probesOut -= 1;
      this.probeSuccesses += 1;
      if (this.probeSuccesses >= this.options.halfOpenProbes) {
        this.openTime.reset();
        this.move('closed', 'recover');
      }
    }
  }

  failed(permit: BreakerPermit): void {
    if (permit !== this.generation) return;
    if (this.current === 'closed') {
      this.consecutive += 1;
      const rateTripped = this.window?.record(this.clock.now(), true) ?? false;
      if ((this.consecutive >= this.options.consecutiveFailures || rateTripped) && (this.hooks.mayTrip?.(this) ?? true)) {
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
    this.openUntil = this.clock.now() + this.openTime.next();
    this.move('open', transition);
  }

  private move(state: BreakerState, transition: BreakerTransition): void {
    this.current = state;
    this.generation += 1;
    this.consecutive = 0;
    this.probesOut = 0;
    this.probeSuccesses = 0;
    this.window?.clear();
    this.hooks.transition?.(transition, this);
  }
}
