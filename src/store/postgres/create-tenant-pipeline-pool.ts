import type { PostgresPool, PostgresPoolClient } from 'kysely';
import type pg from 'pg';
import { tenantSetting } from '../create-row-level-security-migration.ts';

/**
 * What `runInTenantTransaction` sends through Kysely in place of `begin`: the pool's client remembers the tenant
 * and sends `begin` and the tenant setting together with the operation's first statement (see below). Never sent
 * to the server; `$1` is the tenant.
 */
export const beginInTenant = '-- gatehouse: begin in tenant $1 with the next statement';

const setTenant = `select set_config('${tenantSetting}', $1, true)`;

/**
 * Kysely's pool over a `pg` pool in pipeline mode, whose clients open a tenant transaction in the same round trip
 * as its first statement: `begin`, `select set_config('gatehouse.tenant', $1, true)` and the statement are written
 * one after the other before the first answer arrives (each with its own Sync; the explicit `begin` keeps them
 * in one transaction, so the setting is local to it). A tenant operation of one statement then costs two round
 * trips (the statement, `commit`) instead of three.
 *
 * If the `begin` failed (only a lost connection can make it fail) the setting would end with its own implicit
 * transaction and the statement would run naming no tenant: row-level security then shows it no rows and lets
 * it write none, so the failure is closed, and the statement's own error (the lost connection) is what is thrown.
 */
export function createTenantPipelinePool(pool: pg.Pool): PostgresPool {
  const clients = new WeakMap<pg.PoolClient, PostgresPoolClient>();
  return {
    async connect() {
      const client = await pool.connect();
      let wrapped = clients.get(client);
      if (wrapped === undefined) {
        wrapped = tenantPipelineClient(client);
        clients.set(client, wrapped);
      }
      return wrapped;
    },
    end: () => pool.end(),
  };
}

/** The answer to a statement that was not sent (the deferred `begin`, or ending a transaction that ran none). */
const noStatement = (command: string): pg.QueryResult => ({ command, rowCount: 0, rows: [], oid: 0, fields: [] });

function tenantPipelineClient(client: pg.PoolClient): PostgresPoolClient {
  /** The tenant of a transaction begun through `beginInTenant` whose first statement has not been sent yet. */
  let pending: string | undefined;
  const query = async (sql: string, parameters: readonly unknown[]): Promise<pg.QueryResult> => {
    if (sql === beginInTenant) {
      pending = String(parameters[0]);
      return noStatement('SELECT');
    }
    const tenant = pending;
    pending = undefined;
    if (tenant === undefined) return client.query(sql, [...parameters]);
    // A transaction that ran no statement has nothing to end: no round trip at all.
    if (sql === 'commit' || sql === 'rollback') return noStatement(sql.toUpperCase());
    const sent = [client.query('begin'), client.query(setTenant, [tenant])] as const;
    const statement = client.query(sql, [...parameters]);
    // The statement's outcome is the answer; a failed `begin` or setting fails it too (an aborted transaction).
    const [began, set, result] = await Promise.allSettled([...sent, statement]);
    if (result.status === 'rejected') throw result.reason;
    if (began.status === 'rejected') throw began.reason;
    if (set.status === 'rejected') throw set.reason;
    return result.value;
  };
  return {
    // Kysely's pool client type is a narrowing of pg's (its own PostgreSQL dialect hands it pg's results as is).
    query: query as unknown as PostgresPoolClient['query'],
    release() {
      pending = undefined;
      client.release();
    },
  };
}
