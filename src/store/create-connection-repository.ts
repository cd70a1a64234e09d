import { type Selectable, sql } from 'kysely';
import { GatehouseError } from '../core/index.ts';
import type {
  ConnectionError,
  ConnectionRecord,
  ConnectionRepository,
  ConnectionStatus,
  LockedConnection,
  RefreshLockOptions,
} from './port.ts';
import type { ScopedRun, StoreContext } from './store-context.ts';
import type { ConnectionsTable } from './store-database.ts';
import { toBuffer } from './to-buffer.ts';

/** How often a SQLite lease is tried again while a sibling holds it. */
const leasePollMs = 15;

/**
 * Connections over both dialects. Token writes are fenced by `token_version` (RF-03); the refresh lock is a row
 * lock held by a transaction on PostgreSQL and a lease on the row on SQLite (see the port).
 */
export function createConnectionRepository(context: StoreContext): ConnectionRepository {
  const { run, read, transactionWithEffects, features } = context;
  const plain = createQueries(run, read);

  async function withPostgresLock<T>(
    tenantId: string,
    id: string,
    options: RefreshLockOptions,
    fn: (locked: LockedConnection) => Promise<T>,
  ): Promise<T> {
    return transactionWithEffects('connections.withRefreshLock', tenantId, async (trx, effectsBegin) => {
      // Both settings are transaction-local. lock_timeout bounds the wait for a sibling's row lock;
      // idle_in_transaction_session_timeout is the lease: a holder stuck longer than it (waiting on the token
      // endpoint or paused) loses its session, its transaction rolls back, and its writes never land.
      await sql`select set_config('lock_timeout', ${`${Math.max(1, Math.trunc(options.waitMs))}`}, true),
          set_config('idle_in_transaction_session_timeout', ${`${Math.max(1, Math.trunc(options.leaseMs))}`}, true)`.execute(
        trx,
      );
      let row: Selectable<ConnectionsTable> | undefined;
      try {
        row = await trx
          .selectFrom('connections')
          .selectAll()
          .where('tenant_id', '=', tenantId)
          .where('id', '=', id)
          .forUpdate()
          .executeTakeFirst();
      } catch (error) {
        if ((error as { code?: unknown }).code === '55P03') throw busy(tenantId, id);
        throw error;
      }
      // Inside the lock's transaction nothing is retried: a lost connection has ended the transaction too. Once the
      // holder runs, the lock is not taken again either: it may have redeemed a refresh token.
      const onLock: ScopedRun = (_operation, _scope, f) => f(trx);
      const inTransaction = createQueries(onLock, onLock);
      effectsBegin();
      return fn({ record: row && toConnectionRecord(row), connections: inTransaction });
    });
  }

  async function withSqliteLease<T>(
    tenantId: string,
    id: string,
    options: RefreshLockOptions,
    fn: (locked: LockedConnection) => Promise<T>,
  ): Promise<T> {
    const deadline = options.now() + options.waitMs;
    for (;;) {
      const now = options.now();
      const taken = await run('connections.withRefreshLock', tenantId, (db) =>
        db
          .updateTable('connections')
          .set({ lock_owner: options.owner, lock_until: now + options.leaseMs })
          .where('tenant_id', '=', tenantId)
          .where('id', '=', id)
          .where((eb) => eb.or([eb('lock_owner', 'is', null), eb('lock_until', '<=', now)]))
          .executeTakeFirst(),
      );
      if (taken.numUpdatedRows > 0n) break;
      const held = await run('connections.readRefreshLock', tenantId, (db) =>
        db
          .selectFrom('connections')
          .select('lock_owner')
          .where('tenant_id', '=', tenantId)
          .where('id', '=', id)
          .executeTakeFirst(),
      );
      if (held === undefined) return fn({ record: undefined, connections: plain });
      const holder = held.lock_owner;
      if (holder !== null && options.isOwnerGone?.(holder) === true) {
        // A holder that exited (killed) released nothing: take its lease over, and only its (compare-and-set).
        const takenOver = await run('connections.withRefreshLock', tenantId, (db) =>
          db
            .updateTable('connections')
            .set({ lock_owner: options.owner, lock_until: options.now() + options.leaseMs })
            .where('tenant_id', '=', tenantId)
            .where('id', '=', id)
            .where('lock_owner', '=', holder)
            .executeTakeFirst(),
        );
        if (takenOver.numUpdatedRows > 0n) break;
        continue;
      }
      if (options.now() >= deadline) throw busy(tenantId, id);
      await new Promise((resolve) => setTimeout(resolve, leasePollMs));
    }
    try {
      return await fn({ record: await plain.get(tenantId, id), connections: plain });
    } finally {
      // Compare-and-delete: a holder whose lease ran out must not release the lease of the sibling that took over.
      await run('connections.releaseRefreshLock', tenantId, (db) =>
        db
          .updateTable('connections')
          .set({ lock_owner: null, lock_until: null })
          .where('tenant_id', '=', tenantId)
          .where('id', '=', id)
          .where('lock_owner', '=', options.owner)
          .execute(),
      ).catch(() => undefined);
    }
  }

  return {
    ...plain,
    upsert: (record) =>
      run('connections.upsert', record.tenantId, async (db) => {
        const tokens = {
          status: record.status,
          scopes: JSON.stringify(record.scopes),
          access_token: record.accessToken && toBuffer(record.accessToken),
          refresh_token: record.refreshToken && toBuffer(record.refreshToken),
          access_expires_at: record.accessExpiresAt,
          refresh_failures: 0,
          refresh_cooldown_until: null,
          ...noLastError,
          // A new consent replaces what the old one discovered (another org or site may have been chosen).
          variables: toVariablesColumn(record.variables),
          updated_at: record.createdAt,
        };
        const row = await db
          .insertInto('connections')
          .values({
            tenant_id: record.tenantId,
            id: record.id,
            service: record.service,
            subject: record.subject,
            ...tokens,
            token_version: 1,
            lock_owner: null,
            lock_until: null,
            created_at: record.createdAt,
          })
          // The existing connection keeps its id: links, audit records and caches refer to it.
          .onConflict((c) =>
            c.columns(['tenant_id', 'service', 'subject']).doUpdateSet({
              ...tokens,
              token_version: sql<number>`connections.token_version + 1`,
            }),
          )
          .returningAll()
          .executeTakeFirstOrThrow();
        return toConnectionRecord(row);
      }),
    delete: (tenantId, id) =>
      run('connections.delete', tenantId, async (db) => {
        const result = await db
          .deleteFrom('connections')
          .where('tenant_id', '=', tenantId)
          .where('id', '=', id)
          .executeTakeFirst();
        return result.numDeletedRows > 0n;
      }),
    withRefreshLock: (tenantId, id, options, fn) =>
      features.dialect === 'postgres'
        ? withPostgresLock(tenantId, id, options, fn)
        : withSqliteLease(tenantId, id, options, fn),
  };
}

/**
 * The reads and fenced writes, over the store (`read` retries a read whose connection was lost) or over a
 * transaction that holds the row lock.
 */
function createQueries(
  run: ScopedRun,
  read: ScopedRun,
): Pick<ConnectionRepository, 'get' | 'find' | 'list' | 'commitTokens' | 'setStatus' | 'recordRefreshFailure'> {
  return {
    get: (tenantId, id) =>
      read('connections.get', tenantId, async (db) => {
        const row = await db
          .selectFrom('connections')
          .selectAll()
          .where('tenant_id', '=', tenantId)
          .where('id', '=', id)
          .executeTakeFirst();
        return row && toConnectionRecord(row);
      }),
    find: (tenantId, service, subject) =>
      read('connections.find', tenantId, async (db) => {
        const row = await db
          .selectFrom('connections')
          .selectAll()
          .where('tenant_id', '=', tenantId)
          .where('service', '=', service)
          .where('subject', '=', subject)
          .executeTakeFirst();
        return row && toConnectionRecord(row);
      }),
    list: (tenantId) =>
      read('connections.list', tenantId, async (db) => {
        const rows = await db
          .selectFrom('connections')
          .selectAll()
          .where('tenant_id', '=', tenantId)
          .orderBy('service')
          .orderBy('subject')
          .execute();
        return rows.map(toConnectionRecord);
      }),
    // Run again after a lost connection: fenced by the version, a second run after a commit whose answer was lost
    // finds the version moved and changes nothing (the engine then reads its own commit back); one whose first
    // run never committed saves tokens the authorization server has already rotated (else they are lost).
    commitTokens: (update) =>
      read('connections.commitTokens', update.tenantId, async (db) => {
        // One statement: the version check and the bump are atomic, so of two writers that read the same
        // version exactly one succeeds (RF-03). A connection that left `active` takes no refreshed tokens.
        const row = await db
          .updateTable('connections')
          .set({
            access_token: toBuffer(update.accessToken),
            ...(update.refreshToken === undefined
              ? {}
              : { refresh_token: update.refreshToken && toBuffer(update.refreshToken) }),
            access_expires_at: update.accessExpiresAt,
            scopes: JSON.stringify(update.scopes),
            ...(update.variables === undefined ? {} : { variables: toVariablesColumn(update.variables) }),
            token_version: sql<number>`token_version + 1`,
            refresh_failures: 0,
            refresh_cooldown_until: null,
            ...noLastError,
            updated_at: update.at,
          })
          .where('tenant_id', '=', update.tenantId)
          .where('id', '=', update.id)
          .where('token_version', '=', update.expectedVersion)
          .where('status', '=', 'active')
          .returningAll()
          .executeTakeFirst();
        return row && toConnectionRecord(row);
      }),
    setStatus: (tenantId, id, status, at, expectedVersion, lastError) =>
      run('connections.setStatus', tenantId, async (db) => {
        let query = db
          .updateTable('connections')
          .set({ status, updated_at: at, ...(lastError === undefined ? {} : toLastErrorColumns(lastError)) })
          .where('tenant_id', '=', tenantId)
          .where('id', '=', id);
        if (expectedVersion !== undefined) query = query.where('token_version', '=', expectedVersion);
        const result = await query.executeTakeFirst();
        return result.numUpdatedRows > 0n;
      }),
    recordRefreshFailure: (tenantId, id, cooldownUntil, lastError, expectedVersion) =>
      run('connections.recordRefreshFailure', tenantId, async (db) => {
        let query = db
          .updateTable('connections')
          .set((eb) => ({
            refresh_failures: eb(eb.ref('refresh_failures'), '+', 1),
            refresh_cooldown_until: cooldownUntil,
            ...toLastErrorColumns(lastError),
            updated_at: lastError.at,
          }))
          .where('tenant_id', '=', tenantId)
          .where('id', '=', id);
        if (expectedVersion !== undefined) query = query.where('token_version', '=', expectedVersion);
        await query.execute();
      }),
  };
}

function busy(tenantId: string, id: string): GatehouseError {
  return new GatehouseError(
    'credential_unavailable',
    `Connection ${id} of tenant ${tenantId} is being refreshed by another process; try again shortly`,
    { reason: 'refresh_busy', connection: id },
  );
}

const noLastError = { last_error_code: null, last_error_message: null, last_error_at: null } as const;

function toLastErrorColumns(error: ConnectionError) {
  return { last_error_code: error.code, last_error_message: error.message, last_error_at: error.at };
}

function toVariablesColumn(variables: Readonly<Record<string, string>> | undefined): string | null {
  return variables === undefined || Object.keys(variables).length === 0 ? null : JSON.stringify(variables);
}

function toConnectionRecord(row: Selectable<ConnectionsTable>): ConnectionRecord {
  return {
    tenantId: row.tenant_id,
    id: row.id,
    service: row.service,
    subject: row.subject,
    status: row.status as ConnectionStatus,
    scopes: JSON.parse(row.scopes) as string[],
    accessToken: row.access_token && new Uint8Array(row.access_token),
    refreshToken: row.refresh_token && new Uint8Array(row.refresh_token),
    accessExpiresAt: row.access_expires_at === null ? null : Number(row.access_expires_at),
    tokenVersion: Number(row.token_version),
    refreshFailures: Number(row.refresh_failures),
    refreshCooldownUntil: row.refresh_cooldown_until === null ? null : Number(row.refresh_cooldown_until),
    lastError:
      row.last_error_code === null
        ? null
        : { code: row.last_error_code, message: row.last_error_message ?? '', at: Number(row.last_error_at) },
    variables: row.variables === null ? {} : (JSON.parse(row.variables) as Record<string, string>),
    createdAt: Number(row.created_at),
    updatedAt: Number(row.updated_at),
  };
}
