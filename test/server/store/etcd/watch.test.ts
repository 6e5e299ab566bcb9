import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import { describe, test } from 'node:test';
import type { EtcdEndpoints } from '../../../../server/store/etcd/endpoints.js';
import type { EtcdError } from '../../../../server/store/etcd/errors.js';
import type { WatchEvent } from '../../../../server/store/etcd/types.js';
import { PrefixWatch } from '../../../../server/store/etcd/watch.js';
import { waitFor } from '../../../support/events.js';

/**
 * etcd 3.4.23 can send an event twice (etcd-io/etcd#15275, fixed later) and a real cluster cannot
 * be made to: these tests hand PrefixWatch a scripted stream instead of a member.
 */
class ScriptedStream extends EventEmitter {
  readonly written: unknown[] = [];
  cancelled = false;
  write(request: unknown): void {
    this.written.push(request);
  }
  cancel(): void {
    this.cancelled = true;
  }
}

function scriptedEndpoints() {
  const streams: ScriptedStream[] = [];
  const endpoint = {
    url: 'scripted://member',
    etcd: { watchClient: { watch: async () => (streams.push(new ScriptedStream()), streams[streams.length - 1]) } },
  };
  const endpoints = { preferred: () => endpoint, failed: () => undefined, heardFrom: () => undefined } as unknown as EtcdEndpoints;
  return { endpoints, streams };
}

const put = (key: string, revision: number) => ({
  type: 'Put',
  kv: { key: Buffer.from(key), value: Buffer.from(String(revision)), mod_revision: String(revision), create_revision: String(revision), version: '1', lease: '0' },
});
const response = (...events: unknown[]) => ({ header: { revision: '100' }, watch_id: '1', created: false, canceled: false, compact_revision: '0', events });

describe('PrefixWatch with a scripted stream', () => {
  test('a replayed event (same revision again) is dropped and counted, not delivered twice', async () => {
    const { endpoints, streams } = scriptedEndpoints();
    const delivered: WatchEvent[] = [];
    const watch = new PrefixWatch(endpoints, '/p/', 5, (events) => void delivered.push(...events), () => undefined, () => undefined, 60_000);
    await waitFor(() => streams[0], { what: 'the stream' });
    const stream = streams[0]!;

    stream.emit('data', response(put('/p/a', 5), put('/p/b', 6)));
    stream.emit('data', response(put('/p/b', 6), put('/p/c', 7)));
    await waitFor(() => delivered.length === 3, { what: 'three events' });

    assert.deepEqual(delivered.map((e) => [e.key, e.modRevision]), [['/p/a', 5], ['/p/b', 6], ['/p/c', 7]]);
    assert.deepEqual(watch.stats(), { lastAppliedRevision: 7, reconnects: 0, replaysDropped: 1 });
    await watch.cancel();
  });

  test('after a stream fails, the next one starts at the last applied revision + 1, whatever the headers said', async () => {
    const { endpoints, streams } = scriptedEndpoints();
    const errors: EtcdError[] = [];
    const watch = new PrefixWatch(endpoints, '/p/', 5, () => undefined, () => undefined, (e) => void errors.push(e), 60_000);
    await waitFor(() => streams[0], { what: 'the stream' });
    streams[0]!.emit('data', { ...response(), created: true }); // header revision 100: must not become the resume point
    streams[0]!.emit('data', response(put('/p/a', 5), put('/p/b', 9)));
    await waitFor(() => watch.stats().lastAppliedRevision === 9, { what: 'applied' });

    streams[0]!.emit('error', new Error('14 UNAVAILABLE: Connection dropped'));
    await waitFor(() => streams[1]?.written.length, { what: 'a second stream' });

    assert.equal(streams[0]!.cancelled, true);
    assert.equal((streams[1]!.written[0] as { create_request: { start_revision: number } }).create_request.start_revision, 10);
    assert.deepEqual(errors.map((e) => e.code), ['unavailable']);
    await watch.cancel();
  });
});
