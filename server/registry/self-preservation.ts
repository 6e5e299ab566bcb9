/**
 * Self-preservation, Eureka's guard done with a window rather than a renewal rate: when more
 * than `share` of the healthy instances would turn critical within one window, the likelier
 * story is that the registry lost the network (or the clients lost the registry), not that the
 * fleet died. Expiring them would empty DNS and every proxy at once; holding them keeps
 * traffic flowing to instances that are probably fine, at the price of also keeping those
 * that really died until heartbeats return or the operator says so.
 */
export interface SelfPreservationOptions {
  /** Share (0–1) of healthy instances whose expiry within one window engages the guard; 0: never. */
  share: number;
  /** The window expiries are counted over. */
  windowMs: number;
  /**
   * Fleets smaller than this are never held: with 3 instances one death is 33%, and a guard
   * that keeps dead instances of small services forever is Eureka's best-known complaint.
   */
  minInstances: number;
}

export const DEFAULT_SELF_PRESERVATION: SelfPreservationOptions = { share: 0.5, windowMs: 60_000, minInstances: 10 };

/** The guard's state, as the API and metrics show it. */
export interface SelfPreservationState {
  /** Whether the guard may engage (the operator can turn it off at run time). */
  enabled: boolean;
  /** Whether it is holding expiries now. */
  engaged: boolean;
  /** Expiries held back by the last sweep. */
  withheld: number;
}

/**
 * Plain state, fed by the registry's sweep: `admit` answers whether a sweep may apply its due
 * expiries, `applied` records those it did, so later sweeps in the window count them too.
 */
export class SelfPreservation {
  private enabled: boolean;
  private engaged = false;
  private withheld = 0;
  /** [time, count] of expiries applied, oldest first, within the window. */
  private readonly recent: [number, number][] = [];

  constructor(private readonly options: SelfPreservationOptions) {
    if (!(options.share >= 0 && options.share <= 1)) throw new RangeError('self-preservation share must be between 0 and 1');
    this.enabled = options.share > 0;
  }

  get state(): SelfPreservationState {
    return { enabled: this.enabled, engaged: this.engaged, withheld: this.withheld };
  }

  /** The operator's switch. Turned off, the next sweep expires everything due. */
  setEnabled(enabled: boolean): void {
    this.enabled = enabled && this.options.share > 0;
    if (!this.enabled) {
      this.engaged = false;
      this.withheld = 0;
    }
  }

  /**
   * Whether `due` expiries may be applied now, with `healthy` instances not expired yet (the
   * due ones included). Engages or releases the guard as a side effect.
   */
  admit(now: number, due: number, healthy: number): boolean {
    this.forgetBefore(now - this.options.windowMs);
    if (!this.enabled || due === 0) {
      this.release();
      return true;
    }
    const expiredInWindow = this.recent.reduce((sum, [, count]) => sum + count, 0);
    const population = healthy + expiredInWindow;
    const hold = population >= this.options.minInstances && expiredInWindow + due > this.options.share * population;
    if (!hold) {
      this.release();
      return true;
    }
    this.engaged = true;
    this.withheld = due;
    return false;
  }

  /** Records expiries the sweep applied. */
  applied(now: number, count: number): void {
    if (count > 0) this.recent.push([now, count]);
  }

  private release(): void {
    this.engaged = false;
    this.withheld = 0;
  }

  private forgetBefore(time: number): void {
    while (this.recent.length > 0 && this.recent[0]![0] < time) this.recent.shift();
  }
}
