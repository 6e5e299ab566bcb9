import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CommitBatcher, type CommitRequest } from '../../../../server/store/etcd/commit-batcher.js';
import type { Txn, TxnResult } from '../../../../server/store/etcd/types.js';

/**
 * A stand-in for etcd's transaction rule, enough to drive the batcher: every compare is on a
 * key's revision, and a key whose revision is not the expected one fails the whole transaction.
 */
function fakeEtcd() {
  const revisions = new Map<string, number>();
  let revision = 1;
  const sent: Txn[] = [];
  const send = async (txn: Txn): Promise<TxnResult> => {
    sent.push(txn);
    const holds = (txn.if ?? []).every((compare) => ('modRevision' in compare ? (revisions.get(compare.key) ?? 0) === compare.modRevision : true));
    if (!holds) return { succeeded: false, revision };
    revision += 1;
    for (const op of txn.then) if ('put' in op) revisions.set(op.put, revision);
    return { succeeded: true, revision };
  };
  return { send, sent, revisions };
}

const registration = (service: string, id: string, expected = 0): CommitRequest => ({
  compares: [{ key: `instances/${service}/${id}`, modRevision: expected }],
  ops: [{ put: `instances/${service}/${id}`, value: '{}' }],
  markers: [`index/${service}`, 'index/*'],
});

describe('CommitBatcher', () => {
  it('commits made in one turn go as one transaction, each marker written once', async () => {
    const etcd = fakeEtcd();
    const batcher = new CommitBatcher(etcd.send);

    const results = await Promise.all(Array.from({ length: 25 }, (_, i) => batcher.submit(registration('web', `w${i}`))));

    assert.equal(etcd.sent.length, 1);
    assert.equal(etcd.sent[0]!.then.length, 27);
    assert.ok(results.every((result) => result.succeeded && result.revision === results[0]!.revision));
  });

  it('a commit whose record moved on is refused alone; the others of its batch still apply', async () => {
    const etcd = fakeEtcd();
    const batcher = new CommitBatcher(etcd.send);
    await batcher.submit(registration('web', 'taken'));

    const [stale, fresh] = await Promise.all([batcher.submit(registration('web', 'taken', 0)), batcher.submit(registration('web', 'new'))]);

    assert.equal(stale.succeeded, false);
    assert.equal(fresh.succeeded, true);
    assert.ok(etcd.revisions.has('instances/web/new'));
  });

  it('never writes one key twice in a transaction, and keeps each under 128 operations', async () => {
    const etcd = fakeEtcd();
    const batcher = new CommitBatcher(etcd.send);

    const results = await Promise.all([
      batcher.submit(registration('web', 'same')),
      batcher.submit(registration('web', 'same')),
      ...Array.from({ length: 200 }, (_, i) => batcher.submit(registration(`svc-${i}`, 'a'))),
    ]);

    for (const txn of etcd.sent) {
      const keys = txn.then.map((op) => ('put' in op ? op.put : op.delete));
      assert.equal(new Set(keys).size, keys.length);
      assert.ok(txn.then.length <= 128, `${txn.then.length} operations`);
    }
    assert.ok(etcd.sent.length >= 3);
    // The second write of the same record was made from the same read: it is the one refused.
    assert.deepEqual([results[0]!.succeeded, results[1]!.succeeded], [true, false]);
    assert.ok(results.slice(2).every((result) => result.succeeded));
  });

  it('a transaction that fails fails every commit of its batch with the same error', async () => {
    const failure = new Error('deadline exceeded');
    const batcher = new CommitBatcher(async () => {
      throw failure;
    });

    const outcomes = await Promise.allSettled([batcher.submit(registration('web', 'a')), batcher.submit(registration('web', 'b'))]);

    assert.deepEqual(outcomes.map((outcome) => (outcome.status === 'rejected' ? outcome.reason : 'ok')), [failure, failure]);
  });
});
