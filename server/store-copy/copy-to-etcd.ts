import type { EtcdClient } from '../store/etcd/etcd-client.js';
import { keyOf } from '../store/etcd/records.js';
import type { TxnOp } from '../store/etcd/types.js';
import type { CopyWrite } from './copy-plan.js';

/**
 * Records a transaction carries at most. etcd refuses a transaction of more than 128 operations
 * (--max-txn-ops); each record may add the change-index markers of its service and the catalog.
 */
const RECORDS_PER_TRANSACTION = 60;

/** etcd changed under the prefix between the read and a write: that write was not made. */
export class CopyConflict extends Error {
  override readonly name = 'CopyConflict';
}

/**
 * Writes the plan, a batch per transaction. Each transaction requires every key it writes to be
 * as it was read, and touches the `index/` markers of what it changes, as a node's own commit
 * does: a node running meanwhile moves those services' indexes and wakes their blocked queries,
 * and a node started later reads the same indexes. Resolves with the number of records written.
 */
export async function writeCopy(client: EtcdClient, prefix: string, writes: readonly CopyWrite[]): Promise<number> {
  let written = 0;
  for (let at = 0; at < writes.length; at += RECORDS_PER_TRANSACTION) {
    const batch = writes.slice(at, at + RECORDS_PER_TRANSACTION);
    const touched = new Set(batch.flatMap((write) => [...write.touched]));
    const ops: TxnOp[] = batch.map((write) => ({ put: write.key, value: write.value }));
    for (const key of touched) ops.push({ put: keyOf.index(prefix, key), value: '' });
    const result = await client.txn({ if: batch.map((write) => ({ key: write.key, modRevision: write.expectedRevision })), then: ops });
    if (!result.succeeded) {
      throw new CopyConflict(
        `etcd changed under ${prefix} while copying (a node wrote one of ${batch[0]!.key} … ${batch[batch.length - 1]!.key}); ${written} records were copied, the rest not: run the copy again, it copies only what is missing`,
      );
    }
    written += batch.length;
  }
  return written;
}
