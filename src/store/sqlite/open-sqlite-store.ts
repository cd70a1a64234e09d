import { closeSync, mkdirSync, openSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import { Kysely } from 'kysely';
import { GatehouseError } from '../../core/index.ts';
import { createKyselyStore } from '../create-kysely-store.ts';
import type { Store } from '../port.ts';
import type { StoreDatabase } from '../store-database.ts';
import { createSqliteAuditAppender } from './create-sqlite-audit-appender.ts';
import { createSqliteDialect } from './create-sqlite-dialect.ts';
import { sqliteFeatures } from './sqlite-features.ts';

export interface SqliteStoreOptions {
  /** How long a statement waits for another process's write lock, in ms (default 5,000). */
  readonly busyTimeoutMs?: number | undefined;
  /** Path of better-sqlite3's compiled addon; absent = the one `npm install` built. */
  readonly nativeBinding?: string | undefined;
}

/** Migrations of one file run one at a time within this process (see runExclusive below). */
const migrationQueues = new Map<string, Promise<unknown>>();

/**
 * Opens a SQLite store: creates the folder (0700) and the file (0600) on first start, then WAL journal,
 * busy_timeout and foreign keys. Throws `store_unavailable` when the file cannot be created or opened.
 */
export async function openSqliteStore(path: string, options: SqliteStoreOptions = {}): Promise<Store> {
  const busyTimeoutMs = options.busyTimeoutMs ?? 5_000;
  let database: Database.Database;
  try {
    if (path !== ':memory:') createPrivateFile(path);
    database = new Database(path, {
      timeout: busyTimeoutMs,
      ...(options.nativeBinding === undefined ? {} : { nativeBinding: options.nativeBinding }),
    });
    database.pragma(`busy_timeout = ${Math.trunc(busyTimeoutMs)}`);
    if (path !== ':memory:') database.pragma('journal_mode = WAL');
    database.pragma('synchronous = NORMAL');
    database.pragma('foreign_keys = ON');
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    if (code === 'ERR_DLOPEN_FAILED') {
      // The addon is compiled for one Node.js ABI and platform; a switch of Node versions breaks it until rebuilt.
      throw new GatehouseError(
        'store_unavailable',
        `Cannot load better-sqlite3's compiled addon (ERR_DLOPEN_FAILED): it was built for another Node.js ` +
          `version or platform than this one (Node.js ${process.version}, ABI ${process.versions.modules}). ` +
          'Fix: run `npm rebuild better-sqlite3` in the Gatehouse folder with this Node.js, then start again.',
        { dialect: 'sqlite', cause: 'ERR_DLOPEN_FAILED' },
        { cause: error },
      );
    }
    throw new GatehouseError(
      'store_unavailable',
      `Cannot open the SQLite store at ${path} (${typeof code === 'string' ? code : 'error'})`,
      { dialect: 'sqlite' },
      { cause: error },
    );
  }
  const db = new Kysely<StoreDatabase>({ dialect: createSqliteDialect(database) });
  return createKyselyStore({
    db,
    features: sqliteFeatures,
    appendAudit: createSqliteAuditAppender(database),
    target: path,
    // better-sqlite3 is synchronous: a second connection of this process waiting on busy_timeout would block the
    // event loop while the first holds the lock, so in-process migrations of one file are queued instead.
    runExclusive: path === ':memory:' ? undefined : (fn) => queueOnFile(path, fn),
  });
}

function createPrivateFile(path: string): void {
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  try {
    closeSync(openSync(path, 'wx', 0o600));
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
  }
}

function queueOnFile<T>(path: string, fn: () => Promise<T>): Promise<T> {
  const previous = migrationQueues.get(path) ?? Promise.resolve();
  const next = previous.then(fn, fn);
  const settled = next.catch(() => undefined);
  migrationQueues.set(path, settled);
  void settled.then(() => {
    if (migrationQueues.get(path) === settled) migrationQueues.delete(path);
  });
  return next;
}
