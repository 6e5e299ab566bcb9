/**
 * A binary min-heap of (time, item). The registry keeps one entry per instance, at or before
 * its next deadline (expiry or removal), and re-schedules lazily when an entry comes due
 * early: heartbeats only move deadlines later, so they never touch the heap.
 */
export class DeadlineQueue<T> {
  private readonly times: number[] = [];
  private readonly items: T[] = [];

  get size(): number {
    return this.times.length;
  }

  push(at: number, item: T): void {
    this.times.push(at);
    this.items.push(item);
    this.siftUp(this.times.length - 1);
  }

  /** The earliest time in the queue, if any. */
  peekTime(): number | undefined {
    return this.times[0];
  }

  /** Removes and returns the earliest item if it is due at `now`. */
  popDue(now: number): { at: number; item: T } | undefined {
    const at = this.times[0];
    if (at === undefined || at > now) return undefined;
    const item = this.items[0]!;
    const lastTime = this.times.pop()!;
    const lastItem = this.items.pop()!;
    if (this.times.length > 0) {
      this.times[0] = lastTime;
      this.items[0] = lastItem;
      this.siftDown(0);
    }
    return { at, item };
  }

  private siftUp(index: number): void {
    while (index > 0) {
      const parent = (index - 1) >> 1;
      if (this.times[parent]! <= this.times[index]!) return;
      this.swap(index, parent);
      index = parent;
    }
  }

  private siftDown(index: number): void {
    const length = this.times.length;
    for (;;) {
      const left = 2 * index + 1;
      const right = left + 1;
      let smallest = index;
      if (left < length && this.times[left]! < this.times[smallest]!) smallest = left;
      if (right < length && this.times[right]! < this.times[smallest]!) smallest = right;
      if (smallest === index) return;
      this.swap(index, smallest);
      index = smallest;
    }
  }

  private swap(a: number, b: number): void {
    [this.times[a], this.times[b]] = [this.times[b]!, this.times[a]!];
    [this.items[a], this.items[b]] = [this.items[b]!, this.items[a]!];
  }
}
