import type { Compare, Txn, TxnOp, TxnResult } from './types.js';

/** One commit's share of a transaction. */
export interface CommitRequest {
  /** Each compare must hold for this commit to apply. */
  compares: readonly Compare[];
  /** Its record writes (instances, policies): one per key. */
  ops: readonly TxnOp[];
  /** Its change-index markers: written once per transaction, however many commits touch them. */
  markers: readonly string[];
}

interface Pending {
  request: CommitRequest;
  resolve(result: TxnResult): void;
  reject(error: unknown): void;
}

/** etcd refuses a transaction with more operations than its --max-txn-ops (128 by default). */
const MAX_TXN_OPS = 128;
/** Transactions in flight at once; commits arriving meanwhile wait and go together in the next. */
const MAX_IN_FLIGHT = 2;

/**
 * Group commit: commits that arrive while earlier ones are in flight go to etcd together, as one
 * transaction comparing every record each of them read. Each etcd call costs a node about as
 * much CPU (gRPC, HTTP/2) as the rest of a registration together, and every marker put is a
 * watch event each node decodes, so a batch shares both: 25 registrations to one service are
 * 25 record puts and 2 marker puts, not 75 puts. If any compare fails, the batch is sent again
 * commit by commit, so only the commit whose record moved on is refused (StoreConflict), never
 * its neighbours. A failure with an unknown outcome fails every commit of the batch; each may
 * be sent again (writes are idempotent).
 */
export class CommitBatcher {
  private queue: Pending[] = [];
  private inFlight = 0;
  private scheduled = false;

  constructor(private readonly send: (txn: Txn) => Promise<TxnResult>) {}

  submit(request: CommitRequest): Promise<TxnResult> {
    return new Promise<TxnResult>((resolve, reject) => {
      this.queue.push({ request, resolve, reject });
      this.schedule();
    });
  }

  /** Sends on the next turn, so every commit made in this one can join. */
  private schedule(): void {
    if (this.scheduled || this.inFlight >= MAX_IN_FLIGHT || this.queue.length === 0) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      while (this.inFlight < MAX_IN_FLIGHT && this.queue.length > 0) void this.sendBatch(this.takeBatch());
    });
  }

  /** The longest run from the queue's head that fits one transaction, no key written twice. */
  private takeBatch(): Pending[] {
    const keys = new Set<string>();
    const markers = new Set<string>();
    let count = 0;
    for (; count < this.queue.length; count++) {
      const { request } = this.queue[count]!;
      const recordKeys = request.ops.map((op) => ('put' in op ? op.put : op.delete));
      const newMarkers = request.markers.filter((marker) => !markers.has(marker));
      const ops = keys.size + markers.size + recordKeys.length + newMarkers.length;
      if (count > 0 && (ops > MAX_TXN_OPS || recordKeys.some((key) => keys.has(key)))) break;
      for (const key of recordKeys) keys.add(key);
      for (const marker of newMarkers) markers.add(marker);
    }
    return this.queue.splice(0, Math.max(1, count));
  }

  private async sendBatch(batch: Pending[]): Promise<void> {
    this.inFlight += 1;
    try {
      const result = await this.send(transaction(batch));
      if (result.succeeded || batch.length === 1) {
        for (const pending of batch) pending.resolve(result);
        return;
      }
      // A record moved on since one of these commits read it: find which, one by one.
      await Promise.all(batch.map((pending) => this.send(transaction([pending])).then(pending.resolve, pending.reject)));
    } catch (error) {
      for (const pending of batch) pending.reject(error);
    } finally {
      this.inFlight -= 1;
      this.schedule();
    }
  }
}

function transaction(batch: readonly Pending[]): Txn {
  const compares: Compare[] = [];
  const then: TxnOp[] = [];
  const markers = new Set<string>();
  for (const { request } of batch) {
    compares.push(...request.compares);
    then.push(...request.ops);
    for (const marker of request.markers) markers.add(marker);
  }
  for (const marker of markers) then.push({ put: marker, value: '' });
  return { if: dedupe(compares), then };
}

/** The same compare asked by two commits (the node's own session key, say) is asked once. */
function dedupe(compares: Compare[]): Compare[] {
  const seen = new Set<string>();
  return compares.filter((compare) => {
    const id = `${compare.key}\u0000${'modRevision' in compare ? `r${compare.modRevision}` : `e${compare.exists}`}`;
    if (seen.has(id)) return false;
    seen.add(id);
    return true;
  });
}
