import { CompiledQuery, type Kysely } from 'kysely';
import pg from 'pg';
import { tenantSetting } from '../create-row-level-security-migration.ts';
import type { TenantScope } from '../store-context.ts';
import type { StoreDatabase } from '../store-database.ts';

/**
 * Runs `fn` on one pooled connection inside a transaction whose `gatehouse.tenant` is `scope`, set with
 * `set_config(..., true)`: local to the transaction, so a connection goes back to the pool naming no tenant, and a
 * session that never ran through here (psql, a reporting tool, a forgotten path) sees no tenant rows at all.
 *
 * `BEGIN` and the setting travel as one simple-protocol message (one round trip, not two); the tenant is quoted
 * with the driver's literal escaping because that protocol takes no parameters. `fn` must not open a transaction
 * of its own: it is already inside one (repositories use `StoreContext.transaction`, which is this on PostgreSQL).
 */
export async function runInTenantTransaction<T>(
  db: Kysely<StoreDatabase>,
  scope: TenantScope,
  fn: (db: Kysely<StoreDatabase>) => Promise<T>,
): Promise<T> {
  const begin = CompiledQuery.raw(`begin; select set_config('${tenantSetting}', ${pg.escapeLiteral(scope)}, true)`);
  return db.connection().execute(async (connection) => {
    await connection.executeQuery(begin);
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
  });
}
