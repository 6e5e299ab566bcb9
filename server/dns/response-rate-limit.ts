/**
 * A per-source response-rate limit for UDP (the idea of BIND's RRL, simplified): each source
 * address gets a token bucket of `perSecond` answers, refilled continuously; past it, queries
 * are dropped unanswered. UDP sources can be spoofed, so a flood "from" a victim would make
 * Beacon an amplifier; TCP needs a handshake and is never limited, so a real client that loses
 * answers still gets them by retrying over TCP.
 */
export class ResponseRateLimit {
  /** Buckets by source, least recently seen first (a Map keeps insertion order). */
  private readonly buckets = new Map<string, { tokens: number; at: number }>();

  constructor(
    private readonly perSecond: number,
    private readonly now: () => number = () => performance.now(),
    /**
     * Sources remembered at most. Past it the least recently seen is forgotten: a spoofed flood
     * from many addresses then pushes out only idle sources, never the busy victim's bucket.
     */
    private readonly maxSources = 100_000,
  ) {}

  /** Takes one answer from the source's bucket; false when it is empty. */
  allow(source: string): boolean {
    const now = this.now();
    let bucket = this.buckets.get(source);
    if (!bucket) {
      if (this.buckets.size >= this.maxSources) this.buckets.delete(this.buckets.keys().next().value!);
      bucket = { tokens: this.perSecond, at: now };
    } else {
      bucket.tokens = Math.min(this.perSecond, bucket.tokens + ((now - bucket.at) / 1000) * this.perSecond);
      bucket.at = now;
      this.buckets.delete(source); // re-inserted below: now the most recently seen
    }
    this.buckets.set(source, bucket);
    if (bucket.tokens < 1) return false;
    bucket.tokens -= 1;
    return true;
  }
}
