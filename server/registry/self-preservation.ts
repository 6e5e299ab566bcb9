/**
 * Self-preservation, Eureka's idea done with a window rather than a renewal rate: when more
 * than `share` of the healthy instances would turn critical within one window, the likelier
 * story is that the registry lost the network (or the clients lost the registry), not that the
 * fleet died. Expiring them would empty DNS and every proxy at once; holding them keeps
 * traffic flowing to instances that are probably fine, at the price of also keeping those
 * that really died until heartbeats return or the operator says so.
 */
export interface SelfPreservationOptions {
  /** Share (0–1) of healthy instances whose expiry within one window engages it; 0: never. */
  share: number;
  /** The window expiries are counted over. */
  windowMs: number;
  /**
   * Fleets smaller than this are never held: with 3 instances one death is 33%, and holding
   * dead instances of small services forever is Eureka's best-known complaint.
   */
  minInstances: number;
}

export const DEFAULT_SELF_PRESERVATION: SelfPreservationOptions = { share: 0.5, windowMs: 60_000, minInstances: 10 };

/** Self-preservation as the API and metrics show it. */
export interface SelfPreservationState {
  /** Whether it may engage (the operator can turn it off at run time). */
  enabled: boolean;
  /** Whether it holds any due expiry back now. */
  engaged: boolean;
  /** Due expiries held back now. */
  withheld: number;
}

/**
 * Plain state, fed by the registry's sweep. `admit` decides whether due expiries may apply;
 * the sweep then reports each expiry it holds back (`hold`) and each held one that is settled
 * (`settle`: applied, its heartbeat came back, or the instance was replaced or removed).
 * It is engaged exactly while something is held, so its state does not depend on which sweep
 * happened to look at the held instances.
 */
export class SelfPreservation<Held> {
  private enabled: boolean;
  private readonly held = new Set<Held>();
  /** [time, count] of expiries applied, oldest first, within the window. */
  private readonly recent: [number, number][] = [];

  constructor(private readonly options: SelfPreservationOptions) {
    if (!(options.share >= 0 && options.share <= 1)) throw new RangeError('self-preservation share must be between 0 and 1');
    this.enabled = options.share > 0;
  }

  get state(): SelfPreservationState {
    return { enabled: this.enabled, engaged: this.held.size > 0, withheld: this.held.size };
  }

  get engaged(): boolean {
    return this.held.size > 0;
  }

  /**
   * The operator's switch. Turned off, it lets go of everything it held and returns it, so the
   * registry can look at those expiries again at once.
   */
  setEnabled(enabled: boolean): Held[] {
    this.enabled = enabled && this.options.share > 0;
    return this.enabled ? [] : this.releaseAll();
  }

  /**
   * Whether `due` expiries may be applied now, with `healthy` instances not expired yet (the
   * due ones included). Admitting lets go of everything held (returned through `releaseAll`).
   */
  admit(now: number, due: number, healthy: number): boolean {
    this.forgetBefore(now - this.options.windowMs);
    if (!this.enabled || due === 0) return true;
    const expiredInWindow = this.recent.reduce((sum, [, count]) => sum + count, 0);
    const population = healthy + expiredInWindow;
    return !(population >= this.options.minInstances && expiredInWindow + due > this.options.share * population);
  }

  hold(item: Held): void {
    this.held.add(item);
  }

  /** `item` no longer waits on self-preservation (expired, back to heartbeating, or gone). */
  settle(item: Held): void {
    this.held.delete(item);
  }

  /** Lets go of everything held; returns what was held. */
  releaseAll(): Held[] {
    const items = [...this.held];
    this.held.clear();
    return items;
  }

  /** Records expiries the sweep applied. */
  applied(now: number, count: number): void {
    if (count > 0) this.recent.push([now, count]);
  }

  private forgetBefore(time: number): void {
    while (this.recent.length > 0 && this.recent[0]![0] < time) this.recent.shift();
  }
}
