import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Database } from 'better-sqlite3';

/**
 * Applies the numbered SQL files of `migrations/` (`NNN_name.sql`) in order, each in its own
 * transaction together with its row in `schema_migrations`, so a crash mid-migration leaves the
 * previous version intact and a second run applies nothing twice.
 */
export interface Migration {
  version: number;
  name: string;
  sql: string;
}

export function readMigrations(dir: string): Migration[] {
  const migrations = readdirSync(dir)
    .filter((file) => file.endsWith('.sql'))
    .map((file) => {
      const match = /^(\d+)_([\w-]+)\.sql$/.exec(file);
      if (!match) throw new Error(`migration file ${file} must be named NNN_name.sql`);
      return { version: Number(match[1]), name: match[2]!, sql: readFileSync(join(dir, file), 'utf8') };
    })
    .sort((a, b) => a.version - b.version);
  migrations.forEach((migration, i) => {
    if (migration.version !== i + 1) throw new Error(`migrations must be numbered 1, 2, 3...: found ${migration.version} at position ${i + 1}`);
  });
  return migrations;
}

export function schemaVersion(db: Database): number {
  ensureLedger(db);
  const row = db.prepare('SELECT MAX(version) AS version FROM schema_migrations').get() as { version: number | null };
  return row.version ?? 0;
}

/** Returns the versions it applied. `upTo` stops early (tests build older schemas with it). */
export function migrate(db: Database, migrations: readonly Migration[], upTo = Infinity): number[] {
  const current = schemaVersion(db);
  const known = migrations.length;
  if (current > known) {
    throw new Error(`the database is at schema version ${current}, newer than this Beacon knows (${known}): upgrade Beacon or restore a backup`);
  }
  const record = db.prepare('INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)');
  const applied: number[] = [];
  for (const migration of migrations) {
    if (migration.version <= current || migration.version > upTo) continue;
    db.transaction(() => {
      db.exec(migration.sql);
      record.run(migration.version, migration.name, Date.now());
    })();
    applied.push(migration.version);
  }
  return applied;
}

function ensureLedger(db: Database): void {
  db.exec(`CREATE TABLE IF NOT EXISTS schema_migrations (
    version    INTEGER PRIMARY KEY,
    name       TEXT    NOT NULL,
    applied_at INTEGER NOT NULL
  )`);
}
