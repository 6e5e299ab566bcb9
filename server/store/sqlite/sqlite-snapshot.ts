import { existsSync } from 'node:fs';
import Database from 'better-sqlite3';
import { migrationsDir } from '../../paths.js';
import type { InstanceRecord } from '../../registry/instance-record.js';
import type { PolicyRecord, TokenRecord } from '../store.js';
import { readMigrations } from './migrate.js';
import { fromRow, type InstanceRow, type PolicyRow, policyFromRow, tokenFromRow, type TokenRow } from './rows.js';

/** What a single node's registry file holds: every instance with its state, the ACL tokens and the traffic policies. */
export interface SqliteSnapshot {
  instances: InstanceRecord[];
  tokens: TokenRecord[];
  policies: PolicyRecord[];
}

/** The file cannot be read as a Beacon registry: missing, not a database, another schema. */
export class SnapshotError extends Error {
  override readonly name = 'SnapshotError';
}

/**
 * Reads a registry file without changing it: opened read-only (no migration, no WAL checkpoint),
 * in one read transaction, so a server still writing it is seen at one moment.
 */
export function readSqliteSnapshot(path: string): SqliteSnapshot {
  if (!existsSync(path)) throw new SnapshotError(`${path}: no such file (give the registry's SQLite file, --db of beacon server)`);
  let db: Database.Database;
  try {
    db = new Database(path, { readonly: true, fileMustExist: true });
  } catch (error) {
    throw new SnapshotError(`${path}: cannot open it read-only: ${(error as Error).message}`, { cause: error });
  }
  try {
    checkSchema(db, path);
    return db.transaction(() => ({
      instances: db.prepare<[], InstanceRow>('SELECT * FROM instances ORDER BY service, id').all().map(fromRow),
      tokens: db.prepare<[], TokenRow>('SELECT * FROM acl_tokens ORDER BY created_at, id').all().map(tokenFromRow),
      policies: db.prepare<[], PolicyRow>('SELECT * FROM traffic_policies ORDER BY service').all().map(policyFromRow),
    }))();
  } finally {
    db.close();
  }
}

/** Only a file at this Beacon's schema is read: its rows are then exactly what rows.ts maps. */
function checkSchema(db: Database.Database, path: string): void {
  const known = readMigrations(migrationsDir).length;
  let version: number;
  try {
    version = (db.prepare('SELECT MAX(version) AS version FROM schema_migrations').get() as { version: number | null }).version ?? 0;
  } catch (error) {
    throw new SnapshotError(`${path}: not a Beacon registry (${(error as Error).message})`, { cause: error });
  }
  if (version < known) throw new SnapshotError(`${path}: schema version ${version}, older than this Beacon's (${known}): start this Beacon's server on it once to upgrade it, then copy`);
  if (version > known) throw new SnapshotError(`${path}: schema version ${version}, newer than this Beacon knows (${known}): copy with the Beacon that wrote it`);
}
