import { resolve } from 'node:path';
import { GatehouseError } from '../core/index.ts';
import { redactStoreUrl } from './redact-store-url.ts';

export type StoreLocation =
  | {
      readonly dialect: 'sqlite';
      /** An absolute file path, or `:memory:`. */
      readonly path: string;
    }
  | {
      readonly dialect: 'postgres';
      /** The URL handed to `pg`, without Gatehouse's own `schema` parameter. */
      readonly connectionString: string;
      /** From the `schema` query parameter: the store's tables live in this schema (its `search_path`). */
      readonly schema: string | undefined;
      /** The URL without credentials, for messages. */
      readonly redacted: string;
    };

/** Lower-case identifiers only, so a schema name never needs quoting and cannot inject SQL. */
const schemaName = /^[a-z_][a-z0-9_]{0,62}$/;

/**
 * Parses a store URL: `sqlite:<path>` (relative to `baseDir`, default the working directory),
 * `sqlite::memory:`, or `postgres://` / `postgresql://` with an optional `?schema=<name>`.
 * Throws `config_invalid` with the credentials stripped from the message.
 */
export function parseStoreUrl(url: string, baseDir: string = process.cwd()): StoreLocation {
  if (url.startsWith('sqlite:')) {
    const path = url.slice('sqlite:'.length);
    if (path === '') throw invalid(url, 'expected sqlite:<path> or sqlite::memory:');
    return { dialect: 'sqlite', path: path === ':memory:' ? path : resolve(baseDir, path) };
  }
  if (url.startsWith('postgres://') || url.startsWith('postgresql://')) {
    let parsed: URL;
    try {
      parsed = new URL(url);
    } catch {
      throw invalid(url, 'not a valid URL');
    }
    const schema = parsed.searchParams.get('schema') ?? undefined;
    if (schema !== undefined && !schemaName.test(schema)) {
      throw invalid(url, 'schema must be lower-case letters, digits and underscores (at most 63)');
    }
    if (schema !== undefined) parsed.searchParams.delete('schema');
    return {
      dialect: 'postgres',
      connectionString: schema === undefined ? url : parsed.toString(),
      schema,
      redacted: redactStoreUrl(url),
    };
  }
  throw invalid(url, 'expected sqlite:<path>, sqlite::memory: or postgres://...');
}

/** Validates a schema name given in code (same rule as the URL parameter). */
export function isValidSchemaName(name: string): boolean {
  return schemaName.test(name);
}

function invalid(url: string, why: string): GatehouseError {
  return new GatehouseError('config_invalid', `Invalid store URL ${redactStoreUrl(url)}: ${why}`, { path: 'store' });
}
