import type { FastifyBaseLogger } from 'fastify';
import type { Metrics } from './metrics/metrics.js';
import type { Registry } from './registry/registry.js';

export interface HousekeepingOptions {
  /** How often due expiries and removals are applied; bounds how late a TTL is noticed. */
  sweepIntervalMs?: number;
  /**
   * How often heartbeat times are written to the database. They only inform (a restart grants
   * every instance a fresh TTL), so writing them rarely coalesces many heartbeats per row write.
   */
  flushIntervalMs?: number;
  /**
   * Rows per liveness transaction. A transaction holds the event loop as long as its rows take
   * to write, so small chunks keep requests waiting briefly where one large transaction stalled
   * them (docs/benchmarks.md).
   */
  flushChunkRows?: number;
}

/**
 * The timers around the registry core: they only decide *when* to call `sweep` and
 * `flushLiveness`; each call does a bounded chunk, and the next chunk waits for the event
 * loop to turn (setImmediate) so requests are served in between.
 */
export class Housekeeping {
  private readonly timers: NodeJS.Timeout[];
  private readonly flushChunkRows: number;

  constructor(
    private readonly registry: Registry,
    private readonly log: FastifyBaseLogger,
    private readonly metrics: Metrics,
    options: HousekeepingOptions = {},
  ) {
    this.flushChunkRows = options.flushChunkRows ?? 500;
    const sweep = chunked(() => this.sweepChunk());
    const flush = chunked(() => this.flushChunk());
    this.timers = [
      setInterval(sweep, options.sweepIntervalMs ?? 100).unref(),
      setInterval(flush, options.flushIntervalMs ?? 10_000).unref(),
    ];
  }

  /** Stops the timers and writes every pending heartbeat time (shutdown may block). */
  stop(): void {
    for (const timer of this.timers) clearInterval(timer);
    while (this.registry.pendingLiveness > 0 && this.flushChunk()) {
      // each call writes one chunk
    }
  }

  private async sweepChunk(): Promise<boolean> {
    try {
      const wasPreserving = this.registry.selfPreservationState.engaged;
      const { expired, removed, withheld, more } = await this.registry.sweep();
      if (expired || removed) this.log.info({ expired, removed }, 'health sweep: instances expired or removed');
      const preserving = this.registry.selfPreservationState.engaged;
      if (preserving && !wasPreserving) {
        this.log.warn(
          { withheld },
          'self-preservation engaged: too many instances stopped heartbeating at once, so none is expired until heartbeats return or an operator turns it off (PUT /v1/operator/self-preservation)',
        );
      } else if (wasPreserving && !preserving) {
        this.log.warn({ expired }, 'self-preservation released: expiries apply again');
      }
      return more;
    } catch (error) {
      this.metrics.storageErrors.inc({ operation: 'sweep' });
      this.log.error({ err: error }, 'health sweep failed; retrying on the next tick');
      return false;
    }
  }

  private flushChunk(): boolean {
    try {
      return this.registry.flushLiveness(this.flushChunkRows) > 0 && this.registry.pendingLiveness > 0;
    } catch (error) {
      this.metrics.storageErrors.inc({ operation: 'liveness' });
      this.log.error({ err: error }, 'writing heartbeat times failed; retrying on the next tick');
      return false;
    }
  }
}

/** Runs `step` until it reports no more work, one step per event-loop turn, never twice at once. */
function chunked(step: () => boolean | Promise<boolean>): () => void {
  let running = false;
  const run = async () => {
    if (await step()) setImmediate(run);
    else running = false;
  };
  return () => {
    if (running) return;
    running = true;
    void run();
  };
}
