import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Registry } from 'prom-client';
import { TalliedHistogram } from '../../contract/tallied-histogram.js';

function scrape(histogram: TalliedHistogram<string>): Promise<string> {
  const registry = new Registry();
  histogram.registerIn(registry);
  return registry.metrics();
}

describe('TalliedHistogram', () => {
  it('is exposed as a Prometheus histogram with cumulative buckets, sum and count per label set', async () => {
    const histogram = new TalliedHistogram('latency_seconds', 'how long', ['route'], [0.1, 1]);
    const fast = histogram.observer({ route: '/a' });
    fast(0.05);
    fast(0.1); // on a bound: counted in that bucket, as Prometheus' `le` (less or equal) says
    fast(5);
    histogram.observer({ route: '/b' })(0.5);

    const lines = (await scrape(histogram)).split('\n');

    assert.ok(lines.includes('# TYPE latency_seconds histogram'));
    for (const line of [
      'latency_seconds_bucket{route="/a",le="0.1"} 2',
      'latency_seconds_bucket{route="/a",le="1"} 2',
      'latency_seconds_bucket{route="/a",le="+Inf"} 3',
      'latency_seconds_sum{route="/a"} 5.15',
      'latency_seconds_count{route="/a"} 3',
      'latency_seconds_bucket{route="/b",le="0.1"} 0',
      'latency_seconds_bucket{route="/b",le="1"} 1',
      'latency_seconds_count{route="/b"} 1',
    ]) {
      assert.ok(lines.includes(line), `missing ${line} in\n${lines.join('\n')}`);
    }
  });

  it('hands out observers for the same labels that add into one series', async () => {
    const histogram = new TalliedHistogram('h', 'help', ['method'], [1]);
    histogram.observer({ method: 'GET' })(0.5);
    histogram.observer({ method: 'GET' })(0.5);

    const text = await scrape(histogram);

    assert.match(text, /^h_count\{method="GET"\} 2$/m);
    assert.equal(text.match(/^h_count/gm)?.length, 1);
  });

  it('reset zeroes every series', async () => {
    const histogram = new TalliedHistogram('h', 'help', ['method'], [1]);
    histogram.observer({ method: 'GET' })(3);

    histogram.reset();

    assert.match(await scrape(histogram), /^h_count\{method="GET"\} 0$/m);
  });
});
