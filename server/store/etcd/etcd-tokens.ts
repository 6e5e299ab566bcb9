import type { TokenChange, TokenRecord, TokenStore } from '../store.js';
import { decodeToken, encodeToken, keyOf } from './records.js';
import type { KeyValue, Txn, TxnResult } from './types.js';

/**
 * ACL tokens kept in etcd under `tokens/<id>`, as this node's watch last saw them. EtcdStore
 * feeds every `tokens/` key it lists or watches in here; a write goes through `write`, which
 * resolves once this node's watch applied it, so the token (or its absence) is in the index
 * before the answer to the request that made it leaves this node.
 */
export class EtcdTokens implements TokenStore {
  private readonly tokens = new Map<string, { token: TokenRecord; revision: number }>();
  private listener: ((change: TokenChange) => void) | undefined;

  constructor(
    private readonly prefix: string,
    /** Commits a transaction and waits until this node's view has applied it. */
    private readonly write: (txn: Txn, applied: (result: TxnResult) => boolean) => Promise<TxnResult>,
  ) {}

  loadTokens(): TokenRecord[] {
    return [...this.tokens.values()].map((entry) => entry.token);
  }

  subscribeTokens(listener: (change: TokenChange) => void): void {
    this.listener = listener;
  }

  async putToken(token: TokenRecord): Promise<void> {
    await this.write({ then: [{ put: keyOf.token(this.prefix, token.id), value: encodeToken(token) }] }, () => true);
  }

  async deleteToken(id: string): Promise<boolean> {
    const key = keyOf.token(this.prefix, id);
    // A delete that found nothing wrote nothing: there is no revision of it to wait for.
    const result = await this.write({ if: [{ key, exists: true }], then: [{ delete: key }] }, (done) => done.succeeded);
    return result.succeeded;
  }

  /** One `tokens/<id>` key's new state (undefined: deleted) at `revision`, from the watch. */
  apply(id: string, value: Buffer | undefined, revision: number): void {
    const known = this.tokens.get(id);
    if (known && known.revision >= revision) return; // a replay
    if (!value) {
      if (!known) return;
      this.tokens.delete(id);
      this.listener?.({ kind: 'delete', id });
      return;
    }
    const token = decodeToken(value);
    this.tokens.set(id, { token, revision });
    this.listener?.({ kind: 'put', token });
  }

  /**
   * After a re-list, `listed` is every token there is: the changed ones are applied, and those
   * no longer listed were deleted while this node was not watching.
   */
  replaceAll(listed: readonly KeyValue[]): void {
    const seen = new Set<string>();
    for (const kv of listed) {
      const id = this.idOf(kv.key);
      seen.add(id);
      this.apply(id, kv.value, kv.modRevision);
    }
    for (const id of [...this.tokens.keys()]) if (!seen.has(id)) this.apply(id, undefined, Infinity);
  }

  /** The id in a `tokens/<id>` key. */
  idOf(key: string): string {
    return key.slice(keyOf.token(this.prefix, '').length);
  }
}
