import type { Histogram, Registry } from 'prom-client';

/** One label combination's counts: per-bucket (not cumulative), plus sum and count. */
interface Series {
  labels: Record<string, string>;
  bucketCounts: Float64Array;
  sum: number;
  count: number;
}

/** One line of the exposition, as prom-client's registry formats it. */
interface SampleLine {
  metricName: string;
  labels: Record<string, string | number>;
  value: number;
}

/**
 * A Prometheus histogram kept in plain numbers and formatted only when scraped. prom-client's
 * own Histogram hashes its labels and walks its buckets through objects on every `observe`,
 * even for a kept label child, a cost that showed in heartbeat profiles (docs/benchmarks.md);
 * here an observation is one bucket search and three additions.
 *
 * It is registered with prom-client as a metric object (name, help, type, get), which is all the
 * registry reads, so it is scraped together with every other metric.
 */
export class TalliedHistogram<Label extends string> {
  readonly type = 'histogram';
  readonly aggregator = 'sum';
  private readonly series = new Map<string, Series>();

  constructor(
    readonly name: string,
    readonly help: string,
    private readonly labelNames: readonly Label[],
    private readonly buckets: readonly number[],
  ) {}

  /** Adds this histogram to a registry. */
  registerIn(registry: Registry): void {
    // prom-client types registerMetric for its own classes only; the registry itself reads
    // just the fields this class has (registry.js: getMetricsAsString, getMetricsAsJSON).
    registry.registerMetric(this as unknown as Histogram);
  }

  /** An observer for one label combination: hot paths keep it instead of passing labels each time. */
  observer(labels: Record<Label, string>): (value: number) => void {
    const key = this.labelNames.map((name) => labels[name]).join('\u0000');
    let series = this.series.get(key);
    if (!series) {
      series = { labels: { ...labels }, bucketCounts: new Float64Array(this.buckets.length + 1), sum: 0, count: 0 };
      this.series.set(key, series);
    }
    const target = series;
    const buckets = this.buckets;
    return (value) => {
      let bucket = 0;
      while (bucket < buckets.length && value > buckets[bucket]!) bucket++;
      target.bucketCounts[bucket]! += 1;
      target.sum += value;
      target.count += 1;
    };
  }

  reset(): void {
    for (const series of this.series.values()) {
      series.bucketCounts.fill(0);
      series.sum = 0;
      series.count = 0;
    }
  }

  /** The values in prom-client's shape: cumulative `_bucket` lines with `le`, then `_sum` and `_count`. */
  async get() {
    const values: SampleLine[] = [];
    for (const { labels, bucketCounts, sum, count } of this.series.values()) {
      let cumulative = 0;
      this.buckets.forEach((bound, i) => {
        cumulative += bucketCounts[i]!;
        values.push({ metricName: `${this.name}_bucket`, labels: { ...labels, le: bound }, value: cumulative });
      });
      values.push({ metricName: `${this.name}_bucket`, labels: { ...labels, le: '+Inf' }, value: count });
      values.push({ metricName: `${this.name}_sum`, labels, value: sum });
      values.push({ metricName: `${this.name}_count`, labels, value: count });
    }
    return { name: this.name, help: this.help, type: this.type, aggregator: this.aggregator, values };
  }
}
