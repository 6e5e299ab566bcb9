/**
 * Time is injected so TTL logic can be tested by advancing a clock instead of sleeping.
 * Only `now()` is needed by the core: timers live in the wiring (server/main), which calls
 * the core's `sweep()`; tests call `sweep()` themselves after moving a ManualClock.
 */
export interface Clock {
  /** Milliseconds since the Unix epoch. */
  now(): number;
}

export const systemClock: Clock = { now: () => Date.now() };

/** A clock that only moves when told to: for unit tests of the health state machine. */
export class ManualClock implements Clock {
  constructor(private current = Date.UTC(2026, 0, 1)) {}
  now(): number {
    return this.current;
  }
  advance(ms: number): void {
    this.current += ms;
  }
}
