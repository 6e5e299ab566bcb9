/**
 * Instances whose heartbeat time in memory is newer than on disk, grouped by service. Under
 * the store's (service, id) key a service's rows are neighbours, so chunks taken service by
 * service touch a few pages each; taken in heartbeat order, a chunk dirtied a large share of
 * the table's pages (docs/benchmarks.md).
 */
export class LivenessBacklog<T extends { service: string }> {
  private readonly byService = new Map<string, Set<T>>();
  private count = 0;

  get size(): number {
    return this.count;
  }

  add(item: T): void {
    let items = this.byService.get(item.service);
    if (!items) this.byService.set(item.service, (items = new Set()));
    const before = items.size;
    items.add(item);
    this.count += items.size - before;
  }

  delete(item: T): void {
    const items = this.byService.get(item.service);
    if (!items?.delete(item)) return;
    this.count -= 1;
    if (items.size === 0) this.byService.delete(item.service);
  }

  /** Removes and returns up to `max` items, a service at a time. */
  take(max: number): T[] {
    const taken: T[] = [];
    for (const [service, items] of this.byService) {
      for (const item of items) {
        if (taken.length >= max) break;
        items.delete(item);
        taken.push(item);
      }
      if (items.size === 0) this.byService.delete(service);
      if (taken.length >= max) break;
    }
    this.count -= taken.length;
    return taken;
  }
}
