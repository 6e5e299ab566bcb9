import { waitFor } from './events.js';

/** The Prometheus text at `${baseUrl}/metrics`, as label-set → value for one metric name. */
export async function scrape(baseUrl: string, metric: string): Promise<Map<string, number>> {
  const text = await (await fetch(`${baseUrl}/metrics`)).text();
  const values = new Map<string, number>();
  for (const line of text.split('\n')) {
    const match = new RegExp(`^${metric}(\\{[^}]*\\})? (\\S+)$`).exec(line);
    if (match) values.set(match[1] ?? '', Number(match[2]));
  }
  return values;
}

/** The registry's `beacon_blocking_queries` gauge: queries parked, waiting for a change. */
export async function blockedQueries(registryUrl: string): Promise<number> {
  const value = (await scrape(registryUrl, 'beacon_blocking_queries')).get('');
  if (value === undefined) throw new Error(`${registryUrl}/metrics has no beacon_blocking_queries`);
  return value;
}

/**
 * Resolves once exactly `count` blocking queries are parked at the registry: a query counted
 * there has been read and is waiting, so a change made now is one it has to be woken by.
 */
export async function blockedQueriesReach(registryUrl: string, count: number): Promise<void> {
  let last: number | undefined;
  await waitFor(async () => (last = await blockedQueries(registryUrl)) === count, {
    what: () => `${count} blocking queries parked at ${registryUrl} (last read: ${last})`,
  });
}
