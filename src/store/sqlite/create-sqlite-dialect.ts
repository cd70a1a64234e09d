import type { DatabaseConnection, Driver, SqliteDatabase } from 'kysely';
import {
  CompiledQuery,
  type Dialect,
  type Kysely,
  type MigrationLockOptions,
  SqliteAdapter,
  SqliteDialect,
  SqliteDriver,
  sql,
} from 'kysely';

/**
 * Kysely's SQLite dialect with a real migration lock, for several processes migrating one file at once.
 *
 * Kysely's SQLite adapter reports no transactional DDL, so its migrator runs migrations outside any transaction
 * and its lock is a no-op: two processes could both apply one migration (seen as `duplicate column name`).
 * SQLite does run DDL in transactions, so this adapter says so, and every transaction starts with
 * `BEGIN IMMEDIATE`: the write lock is taken up front (waiting up to busy_timeout), so the second process reads
 * the migration table only after the first has committed. A deferred transaction that read first and wrote later
 * would fail with SQLITE_BUSY instead of waiting.
 */
export function createSqliteDialect(database: SqliteDatabase): Dialect {
  return new LockingSqliteDialect({ database: reusingStatements(database) });
}

/** Prepared statements kept for reuse; past it the oldest is let go (`in (?, ?, ...)` lists vary in length). */
const maxStatements = 500;

/**
 * The database with `prepare` memoised by SQL text. Kysely's driver prepares every query it runs, which cost as much
 * as running it for the store's short queries (S8 start-up). A statement is reusable once its `all` or `run` has
 * returned, and both are synchronous; the store never streams (`iterate`), the one use that keeps a statement busy.
 * SQLite prepares a statement again by itself when the schema changes under it.
 */
function reusingStatements(database: SqliteDatabase): SqliteDatabase {
  const statements = new Map<string, ReturnType<SqliteDatabase['prepare']>>();
  return {
    close: () => database.close(),
    prepare(sql) {
      let statement = statements.get(sql);
      if (statement === undefined) {
        statement = database.prepare(sql);
        if (statements.size >= maxStatements) statements.delete(statements.keys().next().value as string);
        statements.set(sql, statement);
      }
      return statement;
    },
  };
}

class LockingSqliteDialect extends SqliteDialect {
  readonly #database: SqliteDatabase;

  constructor(config: { database: SqliteDatabase }) {
    super(config);
    this.#database = config.database;
  }

  override createAdapter(): SqliteAdapter {
    return new LockingSqliteAdapter();
  }

  override createDriver(): Driver {
    return new ImmediateSqliteDriver({ database: this.#database });
  }
}

class ImmediateSqliteDriver extends SqliteDriver {
  override async beginTransaction(connection: DatabaseConnection): Promise<void> {
    await connection.executeQuery(CompiledQuery.raw('begin immediate'));
  }
}

class LockingSqliteAdapter extends SqliteAdapter {
  override get supportsTransactionalDdl(): boolean {
    return true;
  }

  override async acquireMigrationLock(db: Kysely<unknown>, options: MigrationLockOptions): Promise<void> {
    await sql`update ${sql.table(options.lockTable)} set is_locked = 1 where id = ${options.lockRowId}`.execute(db);
  }

  override async releaseMigrationLock(db: Kysely<unknown>, options: MigrationLockOptions): Promise<void> {
    await sql`update ${sql.table(options.lockTable)} set is_locked = 0 where id = ${options.lockRowId}`.execute(db);
  }
}
