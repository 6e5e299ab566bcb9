import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import Database from 'better-sqlite3';
import { migrationsDir } from '../../../server/paths.js';
import { migrate, readMigrations, schemaVersion } from '../../../server/store/sqlite/migrate.js';
import { SqliteStore } from '../../../server/store/sqlite/sqlite-store.js';
import { tempDir } from '../../support/temp.js';

describe('schema migrations', () => {
  const migrations = readMigrations(migrationsDir);
  const latest = migrations.length;

  test('an empty file is migrated to the latest version, and a second run applies nothing', (t) => {
    const path = join(tempDir(t), 'empty.db');
    writeFileSync(path, '');
    const db = new Database(path);
    t.after(() => db.close());
    assert.deepEqual(migrate(db, migrations), migrations.map((m) => m.version));
    assert.equal(schemaVersion(db), latest);
    assert.deepEqual(migrate(db, migrations), []);
    assert.deepEqual(
      db.prepare('SELECT version, name FROM schema_migrations ORDER BY version').all(),
      migrations.map(({ version, name }) => ({ version, name })),
    );
  });

  test('a database at the previous version keeps its rows and gains the new schema', (t) => {
    const path = join(tempDir(t), 'previous.db');
    const old = new Database(path);
    migrate(old, migrations, latest - 1);
    old
      .prepare(
        `INSERT INTO instances (service, id, address, port, weight, ttl_ms, deregister_after_ms, check_status, registered_at, last_heartbeat_at)
         VALUES ('web', 'w1', '10.0.0.1', 8080, 1, 15000, 300000, 'passing', 1, 2)`,
      )
      .run();
    old.close();

    const store = new SqliteStore({ path });
    t.after(() => store.close());
    const state = store.load();
    assert.equal(schemaVersion(store.db), latest);
    assert.deepEqual(
      state.instances.map((i) => [i.service, i.id, i.port, i.lastHeartbeatAt]),
      [['web', 'w1', 8080, 2]],
    );
    assert.equal(state.lastIndex, 1);
  });

  test('a database newer than this Beacon is refused with a clear message', (t) => {
    const path = join(tempDir(t), 'future.db');
    const db = new Database(path);
    t.after(() => db.close());
    migrate(db, migrations);
    db.prepare('INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)').run(latest + 1, 'future', 0);
    assert.throws(() => migrate(db, migrations), {
      message: `the database is at schema version ${latest + 1}, newer than this Beacon knows (${latest}): upgrade Beacon or restore a backup`,
    });
  });

  test('a failing migration leaves the previous version intact', (t) => {
    const path = join(tempDir(t), 'broken.db');
    const db = new Database(path);
    t.after(() => db.close());
    const broken = [...migrations, { version: latest + 1, name: 'broken', sql: 'CREATE TABLE extra (x); SELECT * FROM missing_table;' }];
    assert.throws(() => migrate(db, broken), /no such table: missing_table/);
    assert.equal(schemaVersion(db), latest);
    assert.deepEqual(db.prepare("SELECT name FROM sqlite_master WHERE name = 'extra'").all(), []);
  });

  test('migration files must be numbered without gaps', (t) => {
    const dir = tempDir(t);
    writeFileSync(join(dir, '001_a.sql'), 'SELECT 1;');
    writeFileSync(join(dir, '003_c.sql'), 'SELECT 1;');
    assert.throws(() => readMigrations(dir), /numbered 1, 2, 3/);
  });
});
