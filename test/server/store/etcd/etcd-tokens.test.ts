import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { EtcdTokens } from '../../../../server/store/etcd/etcd-tokens.js';
import { encodeToken } from '../../../../server/store/etcd/records.js';
import type { KeyValue } from '../../../../server/store/etcd/types.js';
import type { TokenChange, TokenRecord } from '../../../../server/store/store.js';

const token = (id: string, description = ''): TokenRecord => ({ id, secretHash: Buffer.alloc(32, id.length), kind: 'read', services: [], description, createdAt: 1 });
const kv = (record: TokenRecord, modRevision: number): KeyValue => ({ key: `/p/tokens/${record.id}`, value: Buffer.from(encodeToken(record)), modRevision, createRevision: modRevision, lease: undefined });

/** The token view as the etcd watch feeds it; no write is made here. */
function view() {
  const tokens = new EtcdTokens('/p/', () => Promise.reject(new Error('no writes in this test')));
  const changes: string[] = [];
  tokens.subscribeTokens((change: TokenChange) => changes.push(change.kind === 'put' ? `put ${change.token.id} ${change.token.description}` : `delete ${change.id}`));
  return { tokens, changes };
}

describe('EtcdTokens', () => {
  it('hands each put and delete to the listener once: a replayed event changes nothing', () => {
    const { tokens, changes } = view();

    tokens.apply('a', Buffer.from(encodeToken(token('a', 'v1'))), 5);
    tokens.apply('a', Buffer.from(encodeToken(token('a', 'v1'))), 5);
    tokens.apply('a', undefined, 6);
    tokens.apply('a', undefined, 6);

    assert.deepEqual(changes, ['put a v1', 'delete a']);
    assert.deepEqual(tokens.loadTokens(), []);
  });

  it('after a re-list, tokens changed meanwhile are put and tokens no longer listed are deleted', () => {
    const { tokens, changes } = view();
    tokens.apply('kept', Buffer.from(encodeToken(token('kept'))), 2);
    tokens.apply('gone', Buffer.from(encodeToken(token('gone'))), 3);
    tokens.apply('edited', Buffer.from(encodeToken(token('edited', 'old'))), 4);
    changes.length = 0;

    tokens.replaceAll([kv(token('kept'), 2), kv(token('edited', 'new'), 9), kv(token('added'), 10)]);

    assert.deepEqual(changes.sort(), ['delete gone', 'put added ', 'put edited new']);
    assert.deepEqual(tokens.loadTokens().map((record) => record.id).sort(), ['added', 'edited', 'kept']);
  });
});
