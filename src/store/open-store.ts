import { GatehouseError } from '../core/index.ts';
import { isValidSchemaName, parseStoreUrl } from './parse-store-url.ts';
import type { Store } from './port.ts';

export interface OpenStoreOptions {
  /** Folder that a relative `sqlite:` path is resolved against (default: the working directory). */
  readonly baseDir?: string;
  /** SQLite: how long a statement waits for another process's write lock, in ms (default 5,000). */
  readonly busyTimeoutMs?: number;
  /**
   * PostgreSQL: the schema holding the store's tables, set as the connections' `search_path` and created by
   * `migrate()` when missing. Overrides a `?schema=` in the URL. Lower-case letters, digits, underscores.
   */
  readonly schema?: string;
  /** PostgreSQL: maximum pooled connections (default 10). */
  readonly poolMax?: number;
  /** PostgreSQL: connect timeout in ms (default 5,000). */
  readonly connectTimeoutMs?: number;
  /** SQLite: path of better-sqlite3's compiled addon (config `sqliteNativeBinding`); absent = the installed one. */
  readonly sqliteNativeBinding?: string | undefined;
  /** PostgreSQL tests: drop the schema, with all its tables, on `close()`. Refused unless it starts `gh_test_`. */
  readonly dropSchemaOnClose?: boolean;
}

/**
 * Opens the store named by a URL: `sqlite:<path>` (folder and 0600 file created on first start),
 * `sqlite::memory:`, or `postgres://...` / `postgresql://...` (optionally `?schema=<name>`).
 * Does not migrate: call `store.migrate()`.
 * Throws `config_invalid` for a malformed URL and `store_unavailable` when the database cannot be opened or
 * reached; messages never contain the password.
 */
export async function openStore(url: string, options: OpenStoreOptions = {}): Promise<Store> {
  const location = parseStoreUrl(url, options.baseDir);
  if (location.dialect === 'sqlite') {
    if (options.schema !== undefined || options.dropSchemaOnClose) {
      throw new GatehouseError('config_invalid', 'The schema options apply to PostgreSQL stores only', {
        path: 'store',
      });
    }
    const { openSqliteStore } = await import('./sqlite/open-sqlite-store.ts');
    return openSqliteStore(location.path, {
      busyTimeoutMs: options.busyTimeoutMs,
      nativeBinding: options.sqliteNativeBinding,
    });
  }
  const schema = options.schema ?? location.schema;
  if (schema !== undefined && !isValidSchemaName(schema)) {
    throw new GatehouseError(
      'config_invalid',
      'Invalid store schema: use lower-case letters, digits and underscores (at most 63)',
      { path: 'store' },
    );
  }
  const { openPostgresStore } = await import('./postgres/open-postgres-store.ts');
  return openPostgresStore(location.connectionString, location.redacted, {
    schema,
    poolMax: options.poolMax,
    connectTimeoutMs: options.connectTimeoutMs,
    dropSchemaOnClose: options.dropSchemaOnClose,
  });
}
