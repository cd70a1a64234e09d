import type { PostgresPool, PostgresPoolClient } from 'kysely';
import type pg from 'pg';
import { tenantSetting } from '../create-row-level-security-migration.ts';

/**
 * What `runInTenantTransaction` sends through Kysely in place of `begin`: the pool's client remembers the tenant
 * and sends `begin` and the tenant setting together with the operation's first statement (see below). Never sent
 * to the server; `$1` is the tenant.
 */
export const beginInTenant = '-- gatehouse: begin in tenant $1 with the next statement';

/**
 * Like `beginInTenant`, for an operation expected to send one statement: `commit` is written right after it too,
 * so the operation costs one round trip. A second statement in the same operation is not sent: it fails with
 * `MoreThanOneStatement` (the first one's transaction is already committed), and the caller runs the operation
 * again as a full transaction, which only an operation that may run twice can afford (a read, an idempotent write).
 */
export const beginInTenantOneStatement = '-- gatehouse: begin in tenant $1, commit after the next statement';

/**
 * Sent through Kysely by the one operation that sets a session-wide value (`onMigrationConnection`) when it could
 * not reset it: the pool's client is closed when released instead of going back to the pool, so no later operation
 * runs on a session that still names every tenant. Never sent to the server.
 */
export const closeWhenReleased = '-- gatehouse: close this connection when it is released';

/** Thrown for a second statement of an operation begun with `beginInTenantOneStatement` (nothing was sent). */
export class MoreThanOneStatement extends Error {
  constructor() {
    super('an operation begun for one statement sent a second');
    this.name = 'MoreThanOneStatement';
  }
}

const setTenant = `select set_config('${tenantSetting}', $1, true)`;

/**
 * Thrown when `commit` ended the transaction as a rollback: PostgreSQL answers `commit` of an aborted transaction
 * (a statement in it failed, and the operation went on anyway) with ROLLBACK and no error, so without this the
 * operation would resolve as if its writes had landed.
 */
export class RolledBackAtCommit extends Error {
  constructor() {
    super('the transaction was rolled back at commit: a statement in it had failed, and nothing of it was written');
    this.name = 'RolledBackAtCommit';
  }
}

async function commitOrThrow(client: pg.PoolClient): Promise<pg.QueryResult> {
  const result = await client.query('commit');
  if (result.command !== 'COMMIT') throw new RolledBackAtCommit();
  return result;
}

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
  /** The tenant of a transaction begun through `beginInTenant...` whose first statement has not been sent yet. */
  let pending: { readonly tenant: string; readonly oneStatement: boolean } | undefined;
  /** A one-statement transaction was sent with its `commit`: only the operation's `commit` or `rollback` may follow (not sent). */
  let committed = false;
  /** `closeWhenReleased` was sent: the session is not fit for another operation. */
  let closing = false;
  const query = async (sql: string, parameters: readonly unknown[]): Promise<pg.QueryResult> => {
    if (sql === closeWhenReleased) {
      closing = true;
      return noStatement('SELECT');
    }
    if (sql === beginInTenant || sql === beginInTenantOneStatement) {
      pending = { tenant: String(parameters[0]), oneStatement: sql === beginInTenantOneStatement };
      return noStatement('SELECT');
    }
    if (committed) {
      if (sql !== 'commit' && sql !== 'rollback') throw new MoreThanOneStatement();
      committed = false;
      return noStatement(sql.toUpperCase());
    }
    const begun = pending;
    pending = undefined;
    if (begun === undefined) return sql === 'commit' ? commitOrThrow(client) : client.query(sql, [...parameters]);
    // A transaction that ran no statement has nothing to end: no round trip at all.
    if (sql === 'commit' || sql === 'rollback') return noStatement(sql.toUpperCase());
    // Spent from now on: a statement sent before this one's answer (two at once) must not go out after `commit`.
    committed = begun.oneStatement;
    const sent = [client.query('begin'), client.query(setTenant, [begun.tenant])] as const;
    const statement = client.query(sql, [...parameters]);
    // A `commit` after a failed statement ends the aborted transaction as a rollback, without an error.
    const commit = begun.oneStatement ? [commitOrThrow(client)] : [];
    // The statement's outcome is the answer; a failed `begin` or setting fails it too (an aborted transaction), and
    // so does a failed `commit` (an idempotent write that did not land, a lost connection).
    const [began, set, result, committing] = await Promise.allSettled([...sent, statement, ...commit]);
    if (result.status === 'rejected') throw result.reason;
    if (began.status === 'rejected') throw began.reason;
    if (set.status === 'rejected') throw set.reason;
    if (committing?.status === 'rejected') throw committing.reason;
    return result.value;
  };
  return {
    // Kysely's pool client type is a narrowing of pg's (its own PostgreSQL dialect hands it pg's results as is).
    query: query as unknown as PostgresPoolClient['query'],
    release() {
      pending = undefined;
      committed = false;
      // A truthy argument makes pg's pool end the client instead of keeping it.
      client.release(closing);
    },
  };
}
