import { CompiledQuery, type Kysely } from 'kysely';
import { type TenantScope, tenantSettingOf } from '../store-context.ts';
import type { StoreDatabase } from '../store-database.ts';
import { beginInTenant, beginInTenantOneStatement, MoreThanOneStatement } from './create-tenant-pipeline-pool.ts';

/**
 * Runs `fn` on one pooled connection inside a transaction whose `gatehouse.tenant` is `scope`, set with
 * `set_config(..., true)`: local to the transaction, so a connection goes back to the pool naming no tenant, and a
 * session that never ran through here (psql, a reporting tool, a forgotten path) sees no tenant rows at all.
 *
 * `begin` and the setting travel with `fn`'s first statement, in its round trip (`beginInTenant`, see
 * create-tenant-pipeline-pool.ts): a one-statement operation costs two round trips, the statement and `commit`.
 * `fn` must not open a transaction of its own: it is already inside one (repositories use
 * `StoreContext.transaction`, which is this on PostgreSQL).
 */
export async function runInTenantTransaction<T>(
  db: Kysely<StoreDatabase>,
  scope: TenantScope,
  fn: (db: Kysely<StoreDatabase>) => Promise<T>,
): Promise<T> {
  return db.connection().execute((connection) => inTransaction(connection, beginInTenant, scope, fn));
}

/**
 * `runInTenantTransaction` for an operation that may run twice (a read, an idempotent write): its first statement
 * goes out with `begin`, the setting and `commit` (`beginInTenantOneStatement`), one round trip in all. An operation
 * that sends a second statement is run again as a full transaction on the same connection, and `manyStatements`
 * (the store remembers the operation, so it is tried this way once) is called.
 */
export async function runOneStatementInTenant<T>(
  db: Kysely<StoreDatabase>,
  scope: TenantScope,
  fn: (db: Kysely<StoreDatabase>) => Promise<T>,
  manyStatements: () => void,
): Promise<T> {
  return db.connection().execute(async (connection) => {
    try {
      return await inTransaction(connection, beginInTenantOneStatement, scope, fn);
    } catch (error) {
      if (!(error instanceof MoreThanOneStatement)) throw error;
      manyStatements();
      return inTransaction(connection, beginInTenant, scope, fn);
    }
  });
}

async function inTransaction<T>(
  connection: Kysely<StoreDatabase>,
  begin: string,
  scope: TenantScope,
  fn: (db: Kysely<StoreDatabase>) => Promise<T>,
): Promise<T> {
  await connection.executeQuery(CompiledQuery.raw(begin, [tenantSettingOf(scope)]));
  let result: T;
  try {
    result = await fn(connection);
  } catch (error) {
    // Best effort: a connection that was lost cannot roll back, and the server has ended the transaction anyway.
    await connection.executeQuery(CompiledQuery.raw('rollback')).catch(() => undefined);
    throw error;
  }
  await connection.executeQuery(CompiledQuery.raw('commit'));
  return result;
}
