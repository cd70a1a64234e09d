import type { SqliteDatabase } from 'kysely';
import { type Dialect, type Kysely, type MigrationLockOptions, SqliteAdapter, SqliteDialect, sql } from 'kysely';

/**
 * Kysely's SQLite dialect with a real migration lock. Kysely's SQLite adapter takes none, because one
 * connection is one writer; but several processes may migrate one file at once. Writing the lock row as the
 * first statement of the migration transaction takes SQLite's write lock up front (waiting up to busy_timeout),
 * so the second process reads the migration table only after the first has committed. A deferred transaction
 * that read first and wrote later would fail with SQLITE_BUSY instead of waiting.
 */
export function createSqliteDialect(database: SqliteDatabase): Dialect {
  return new LockingSqliteDialect({ database });
}

class LockingSqliteDialect extends SqliteDialect {
  override createAdapter(): SqliteAdapter {
    return new LockingSqliteAdapter();
  }
}

class LockingSqliteAdapter extends SqliteAdapter {
  override async acquireMigrationLock(db: Kysely<unknown>, options: MigrationLockOptions): Promise<void> {
    await sql`update ${sql.table(options.lockTable)} set is_locked = 1 where id = ${options.lockRowId}`.execute(db);
  }

  override async releaseMigrationLock(db: Kysely<unknown>, options: MigrationLockOptions): Promise<void> {
    await sql`update ${sql.table(options.lockTable)} set is_locked = 0 where id = ${options.lockRowId}`.execute(db);
  }
}
