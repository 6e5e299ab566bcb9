import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { EtcdClient, EtcdError, type WatchEvent } from '../../../../server/store/etcd/etcd-client.js';
import { type EtcdCluster, startEtcdCluster } from '../../../support/etcd-cluster.js';
import { waitFor } from '../../../support/events.js';
import { freePort } from '../../../support/ports.js';

/** Collects a watch's callbacks so a test can wait for what it expects. */
function recorder() {
  const events: WatchEvent[] = [];
  const compactions: number[] = [];
  const errors: EtcdError[] = [];
  return {
    events,
    compactions,
    errors,
    onEvents: (batch: WatchEvent[]) => void events.push(...batch),
    onCompacted: (revision: number) => void compactions.push(revision),
    onError: (error: EtcdError) => void errors.push(error),
  };
}

describe('EtcdClient against a real 3-member etcd cluster', () => {
  let cluster: EtcdCluster;
  let etcd: EtcdClient;
  before(async () => {
    cluster = await startEtcdCluster();
    etcd = new EtcdClient({ endpoints: cluster.clientUrls, requestTimeoutMs: 3_000 });
  });
  after(async () => {
    await etcd?.close();
    await cluster?.stop();
  });

  test('get returns every key under the prefix, with its revisions, and the revision it read at', async () => {
    const a = await etcd.put('/get/a', 'one');
    const b = await etcd.put('/get/b', Buffer.from([0, 255]));
    await etcd.put('/getaway', 'not under /get/');
    await etcd.put('/get/a', 'two');

    const listed = await etcd.get('/get/');

    assert.deepEqual(
      listed.kvs.map((kv) => [kv.key, kv.value.toString('hex'), kv.createRevision, kv.lease]),
      [
        ['/get/a', Buffer.from('two').toString('hex'), a.revision, undefined],
        ['/get/b', '00ff', b.revision, undefined],
      ],
    );
    assert.ok(listed.kvs[0]!.modRevision > a.revision);
    assert.ok(listed.revision >= listed.kvs[0]!.modRevision);
  });

  test('a txn comparing mod_revision succeeds for the first writer and fails for the second', async () => {
    const created = await etcd.put('/cas/x', 'v1');
    const first = await etcd.txn({ if: [{ key: '/cas/x', modRevision: created.revision }], then: [{ put: '/cas/x', value: 'first' }] });
    const second = await etcd.txn({ if: [{ key: '/cas/x', modRevision: created.revision }], then: [{ put: '/cas/x', value: 'second' }] });

    assert.equal(first.succeeded, true);
    assert.equal(second.succeeded, false);
    const [kv] = (await etcd.get('/cas/x')).kvs;
    assert.equal(kv!.value.toString(), 'first');
    assert.equal(kv!.modRevision, first.revision);
  });

  test('modRevision 0 means "absent": a create-if-absent txn wins once', async () => {
    const wins = await etcd.txn({ if: [{ key: '/cas/new', modRevision: 0 }], then: [{ put: '/cas/new', value: 'a' }] });
    const loses = await etcd.txn({ if: [{ key: '/cas/new', modRevision: 0 }], then: [{ put: '/cas/new', value: 'b' }] });
    assert.deepEqual([wins.succeeded, loses.succeeded], [true, false]);
  });

  test('a txn on key existence runs then or else, and its delete removes the key', async () => {
    await etcd.put('/exists/session', 'me');
    const alive = await etcd.txn({
      if: [{ key: '/exists/session', exists: true }],
      then: [{ put: '/exists/owned', value: 'yes' }],
      else: [{ put: '/exists/orphan', value: 'yes' }],
    });
    const gone = await etcd.txn({ if: [{ key: '/exists/session', exists: false }], then: [], else: [{ delete: '/exists/session' }] });

    assert.deepEqual([alive.succeeded, gone.succeeded], [true, false]);
    assert.deepEqual((await etcd.get('/exists/')).kvs.map((kv) => kv.key), ['/exists/owned']);
  });

  test('a txn that changes nothing still reports the current revision', async () => {
    const before = await etcd.put('/rev/a', 'x');
    const noop = await etcd.txn({ if: [{ key: '/rev/a', exists: false }], then: [{ put: '/rev/a', value: 'y' }] });
    assert.equal(noop.succeeded, false);
    assert.ok(noop.revision >= before.revision);
  });

  test('watch delivers puts and deletes in revision order, starting at the given revision', async () => {
    const skipped = await etcd.put('/watch/a', 'before');
    const start = await etcd.put('/watch/a', '1');
    await etcd.put('/watch/b', '2');
    await etcd.put('/elsewhere', 'ignored');
    const seen = recorder();
    const watch = etcd.watch('/watch/', start.revision, seen.onEvents, seen.onCompacted, seen.onError);
    try {
      await etcd.txn({ then: [{ delete: '/watch/a' }, { put: '/watch/c', value: '3' }] });
      await waitFor(() => seen.events.length >= 4, { what: 'four events' });

      assert.deepEqual(
        seen.events.map((e) => [e.type, e.key, e.value.toString()]),
        [
          ['put', '/watch/a', '1'],
          ['put', '/watch/b', '2'],
          ['delete', '/watch/a', ''],
          ['put', '/watch/c', '3'],
        ],
      );
      const revisions = seen.events.map((e) => e.modRevision);
      assert.equal(revisions[0], start.revision);
      assert.ok(revisions[0]! > skipped.revision);
      assert.ok(revisions[1]! > revisions[0]!);
      assert.equal(revisions[2], revisions[3], 'one transaction, one revision');
      assert.equal(watch.stats().lastAppliedRevision, revisions[3]);
      assert.deepEqual(seen.errors, []);
    } finally {
      await watch.cancel();
    }
  });

  test('a watch from a revision older than the last compaction reports the compaction and ends', async () => {
    const old = await etcd.put('/compact/a', '1');
    const latest = await etcd.put('/compact/a', '2');
    await etcd.compact(latest.revision);
    const seen = recorder();

    const watch = etcd.watch('/compact/', old.revision, seen.onEvents, seen.onCompacted, seen.onError);
    try {
      await waitFor(() => seen.compactions.length > 0, { what: 'the compaction' });
      assert.deepEqual(seen.compactions, [latest.revision]);
      assert.deepEqual(seen.events, []);
      // The re-list path: read the prefix, watch again from its revision + 1.
      const relisted = await etcd.get('/compact/');
      assert.equal(relisted.kvs[0]!.value.toString(), '2');
    } finally {
      await watch.cancel();
    }
  });

  test('compacting to a revision already compacted is an error with code compacted', async () => {
    const { revision } = await etcd.put('/compact/b', 'x');
    await etcd.compact(revision);
    await assert.rejects(etcd.compact(revision - 1), (error: EtcdError) => error.code === 'compacted');
    await assert.rejects(etcd.compact(revision + 1_000_000), (error: EtcdError) => error.code === 'future-revision');
  });

  test('an idle watch on healthy members stays on its stream: etcd answers the liveness probes', async () => {
    const probing = new EtcdClient({ endpoints: cluster.clientUrls, watchLivenessMs: 100 });
    const start = await probing.put('/idle/a', '1');
    const seen = recorder();
    const watch = probing.watch('/idle/', start.revision, seen.onEvents, seen.onCompacted, seen.onError);
    try {
      await waitFor(() => seen.events.length === 1, { what: 'the first event' });
      // Contact is refreshed by the probes' answers alone: wait for ten probe periods of it.
      const idleSince = probing.lastContactAt()!;
      await waitFor(() => probing.lastContactAt()! >= idleSince + 1_000, { what: 'contact during idleness', timeoutMs: 5_000 });
      assert.equal(watch.stats().reconnects, 0);
      assert.deepEqual(seen.errors, []);
    } finally {
      await watch.cancel();
      await probing.close();
    }
  });

  test('a watch handler that throws stops the watch and reports handler-failed', async () => {
    const start = await etcd.put('/throws/a', '1');
    const errors: EtcdError[] = [];
    const watch = etcd.watch('/throws/', start.revision, () => {
      throw new Error('boom');
    }, () => undefined, (error) => void errors.push(error));
    await waitFor(() => errors.length > 0, { what: 'the handler failure' });
    assert.equal(errors[0]!.code, 'handler-failed');
    assert.equal(watch.stats().lastAppliedRevision, start.revision - 1, 'a failed batch is not applied');
    await watch.cancel();
  });

  test('a key on a lease whose keepalives stop disappears after the TTL, and the watch sees the delete', async () => {
    const lease = await etcd.grant(2);
    const put = await etcd.put('/lease/node-a', 'up', { lease: lease.id });
    assert.equal((await etcd.get('/lease/')).kvs[0]!.lease, lease.id);
    const seen = recorder();
    const watch = etcd.watch('/lease/', put.revision + 1, seen.onEvents, seen.onCompacted, seen.onError);
    try {
      const stoppedAt = Date.now();
      lease.release();
      assert.deepEqual(await lease.lost, { reason: 'closed' });

      await waitFor(() => seen.events.length > 0, { what: 'the lease delete', timeoutMs: 15_000 });
      const elapsed = Date.now() - stoppedAt;
      assert.deepEqual(seen.events.map((e) => [e.type, e.key]), [['delete', '/lease/node-a']]);
      assert.deepEqual((await etcd.get('/lease/')).kvs, []);
      // The last keepalive went out at most TTL/3 before the release, so etcd waited at least 2/3 TTL.
      assert.ok(elapsed >= (2_000 * 2) / 3 - 100, `deleted ${elapsed} ms after the keepalives stopped`);
    } finally {
      await watch.cancel();
    }
  });

  test('a lease kept alive outlives its TTL; revoking it from elsewhere is reported as revoked', async () => {
    const lease = await etcd.grant(2);
    await etcd.put('/lease/kept', 'up', { lease: lease.id });
    const firstExpiry = lease.expiresAt();
    await waitFor(() => lease.expiresAt() > firstExpiry + 1_000, { what: 'a later keepalive', timeoutMs: 10_000 });
    assert.equal((await etcd.get('/lease/kept')).kvs.length, 1);

    const response = await fetch(`${cluster.clientUrls[1]}/v3/lease/revoke`, { method: 'POST', body: JSON.stringify({ ID: lease.id }) });
    assert.equal(response.status, 200);

    const loss = await lease.lost;
    assert.equal(loss.reason, 'revoked');
    assert.deepEqual((await etcd.get('/lease/kept')).kvs, []);
  });

  test('a request to endpoints where nothing listens fails with unavailable within its deadline', async () => {
    const nowhere = new EtcdClient({ endpoints: [`http://127.0.0.1:${await freePort()}`], requestTimeoutMs: 500 });
    try {
      const started = Date.now();
      await assert.rejects(nowhere.put('/k', 'v'), (error: EtcdError) => error instanceof EtcdError && error.code === 'unavailable');
      await assert.rejects(nowhere.get('/k'), (error: EtcdError) => error.code === 'unavailable');
      assert.ok(Date.now() - started < 2 * 500 + 500);
      assert.equal(nowhere.lastContactAt(), undefined);
    } finally {
      await nowhere.close();
    }
  });
});
