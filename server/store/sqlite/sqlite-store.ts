import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import { migrationsDir } from '../../paths.js';
import type { CommitOptions, CommittedBatch, LivenessRecord, Store, StoreChange, StoredState, TokenChange, TokenRecord, TokenStore } from '../store.js';
import { migrate, readMigrations } from './migrate.js';
import { fromRow, type InstanceRow, type PolicyRow, policyFromRow, policyToRow, tokenFromRow, type TokenRow, tokenToRow, toRow } from './rows.js';

export type Synchronous = 'normal' | 'full';

export interface SqliteStoreOptions {
  /** A file path, or ':memory:' for a throwaway registry. */
  path: string;
  /**
   * WAL with synchronous=NORMAL makes a commit survive a crash of the process (kill -9, OOM);
   * FULL also survives power loss, at several times the cost per commit (figures:
   * docs/operations.md, durability and --db-sync).
   */
  synchronous?: Synchronous;
}

export class SqliteStore implements Store, TokenStore {
  readonly db: Database.Database;
  private readonly statements;
  private lastIndex = 0;
  private listener: ((batch: CommittedBatch) => void) | undefined;
  private tokenListener: ((change: TokenChange) => void) | undefined;

  constructor(options: SqliteStoreOptions) {
    if (options.path !== ':memory:') mkdirSync(dirname(options.path), { recursive: true });
    this.db = new Database(options.path);
    this.db.pragma('journal_mode = WAL');
    this.db.pragma(`synchronous = ${options.synchronous === 'full' ? 'FULL' : 'NORMAL'}`);
    this.db.pragma('busy_timeout = 5000');
    migrate(this.db, readMigrations(migrationsDir));
    this.statements = {
      all: this.db.prepare<[], InstanceRow>('SELECT * FROM instances'),
      lastIndex: this.db.prepare<[], { value: number }>("SELECT value FROM registry_state WHERE key = 'last_index'"),
      setLastIndex: this.db.prepare<[number]>("UPDATE registry_state SET value = ? WHERE key = 'last_index'"),
      put: this.db.prepare<InstanceRow>(`INSERT OR REPLACE INTO instances (
          service, id, address, port, weight, tags, meta, ttl_ms, deregister_after_ms, check_status, output,
          maintenance, maintenance_reason, expired, critical_since, registered_at, last_heartbeat_at
        ) VALUES (
          @service, @id, @address, @port, @weight, @tags, @meta, @ttl_ms, @deregister_after_ms, @check_status, @output,
          @maintenance, @maintenance_reason, @expired, @critical_since, @registered_at, @last_heartbeat_at
        )`),
      delete: this.db.prepare<[string, string]>('DELETE FROM instances WHERE service = ? AND id = ?'),
      liveness: this.db.prepare<[number, string, string, string]>(
        'UPDATE instances SET last_heartbeat_at = ?, output = ? WHERE service = ? AND id = ?',
      ),
      allTokens: this.db.prepare<[], TokenRow>('SELECT * FROM acl_tokens ORDER BY created_at, id'),
      putToken: this.db.prepare<TokenRow>(
        'INSERT OR REPLACE INTO acl_tokens (id, secret_hash, kind, services, description, created_at) VALUES (@id, @secret_hash, @kind, @services, @description, @created_at)',
      ),
      deleteToken: this.db.prepare<[string]>('DELETE FROM acl_tokens WHERE id = ?'),
      allPolicies: this.db.prepare<[], PolicyRow>('SELECT * FROM traffic_policies'),
      putPolicy: this.db.prepare<PolicyRow>('INSERT OR REPLACE INTO traffic_policies (service, policy, updated_at) VALUES (@service, @policy, @updated_at)'),
      deletePolicy: this.db.prepare<[string]>('DELETE FROM traffic_policies WHERE service = ?'),
    };
  }

  load(): StoredState {
    this.lastIndex = this.statements.lastIndex.get()?.value ?? 1;
    const policies = this.statements.allPolicies.all().map(policyFromRow);
    return { instances: this.statements.all.all().map(fromRow), lastIndex: this.lastIndex, policies };
  }

  subscribe(listener: (batch: CommittedBatch) => void): void {
    this.listener = listener;
  }

  /**
   * One SQLite transaction, then the changes go to the listener before this returns: the
   * commit and its effect on memory happen in the same turn of the event loop, so nothing can
   * come between a change and the state it was made from (no compare is needed here).
   */
  async commit(changes: readonly StoreChange[], _options: CommitOptions): Promise<void> {
    const index = this.lastIndex + 1;
    this.transaction(() => {
      for (const change of changes) this.write(change);
      this.statements.setLastIndex.run(index);
    });
    this.lastIndex = index;
    this.listener?.({ index, changes });
  }

  private write(change: StoreChange): void {
    switch (change.kind) {
      case 'put':
        this.statements.put.run(toRow(change.instance));
        return;
      case 'delete':
        this.statements.delete.run(change.service, change.id);
        return;
      case 'put-policy':
        this.statements.putPolicy.run(policyToRow(change.policy));
        return;
      case 'delete-policy':
        this.statements.deletePolicy.run(change.service);
    }
  }

  saveLiveness(rows: readonly LivenessRecord[]): void {
    this.transaction(() => {
      for (const row of rows) this.statements.liveness.run(row.lastHeartbeatAt, row.output, row.service, row.id);
    });
  }

  loadTokens(): TokenRecord[] {
    return this.statements.allTokens.all().map(tokenFromRow);
  }

  subscribeTokens(listener: (change: TokenChange) => void): void {
    this.tokenListener = listener;
  }

  /** Written synchronously, and handed to the listener before the promise settles. */
  async putToken(token: TokenRecord): Promise<void> {
    this.statements.putToken.run(tokenToRow(token));
    this.tokenListener?.({ kind: 'put', token });
  }

  async deleteToken(id: string): Promise<boolean> {
    const deleted = this.statements.deleteToken.run(id).changes > 0;
    if (deleted) this.tokenListener?.({ kind: 'delete', id });
    return deleted;
  }

  close(): void {
    if (this.db.open) this.db.close();
  }

  private transaction(work: () => void): void {
    this.db.transaction(work)();
  }
}
