import { Counter, type Registry } from 'prom-client';

/**
 * A counter whose values live in `tally`, a plain map the hot path adds to, keyed by the label
 * values joined by single spaces (so no label value may contain a space; a number is one
 * value as it is); prom-client reads
 * it only when scraped. Even a kept prom-client label child hashes its labels on every `inc`.
 */
export function tallied(registry: Registry, tally: ReadonlyMap<string | number, number>, options: { name: string; help: string; labelNames: string[] }) {
  return new Counter({
    ...options,
    registers: [registry],
    collect() {
      this.reset();
      for (const [key, value] of tally) {
        const values = String(key).split(' ');
        this.inc(Object.fromEntries(options.labelNames.map((label, i) => [label, values[i]!])), value);
      }
    },
  });
}

/** A counter without labels whose value is read from `read()` when scraped. */
export function talliedNumber(registry: Registry, options: { name: string; help: string }, read: () => number) {
  return new Counter({
    ...options,
    registers: [registry],
    collect() {
      this.reset();
      this.inc(read());
    },
  });
}
