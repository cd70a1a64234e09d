import { type Kysely, sql } from 'kysely';
import { GatehouseError } from '../../core/index.ts';
import { allTenantsSetting, tenantSetting } from '../create-row-level-security-migration.ts';
import type { StoreInspection } from '../port.ts';
import type { StoreDatabase } from '../store-database.ts';
import { closeWhenReleased } from './create-tenant-pipeline-pool.ts';

/**
 * Runs `fn` (the migrator) on one connection whose session names every tenant: migrations run as the owner, and
 * FORCE row-level security binds the owner too, so without this a data migration (0010, 0011) would see no rows.
 * The setting is cleared before the connection goes back to the pool; a connection whose clearing failed (an
 * aborted transaction, a cancelled statement) is closed instead, so no later operation runs on a session that names
 * every tenant.
 */
export function onMigrationConnection<T>(
  db: Kysely<StoreDatabase>,
  fn: (db: Kysely<StoreDatabase>) => Promise<T>,
): Promise<T> {
  return db.connection().execute(async (connection) => {
    await sql`select set_config(${tenantSetting}, ${allTenantsSetting}, false)`.execute(connection);
    try {
      return await fn(connection);
    } finally {
      try {
        await sql`select set_config(${tenantSetting}, '', false)`.execute(connection);
      } catch {
        await sql.raw(closeWhenReleased).execute(connection);
      }
    }
  });
}

/**
 * Grants the gateway's application role what serving needs in the store's schema, run by the owner after
 * migrating (idempotent, so every start repeats it and tables of new migrations are covered): use of the schema,
 * reading and writing of rows, reading of the migration bookkeeping (doctor). No DDL, no ownership: it cannot
 * drop or alter the row-level security policies. Refuses the owner itself (it would gain nothing and the
 * isolation would rest on FORCE alone).
 */
export async function grantApplicationRole(db: Kysely<StoreDatabase>, schema: string, role: string): Promise<void> {
  const { rows } = await sql<{ owner: string; exists: boolean }>`select current_user as owner,
    exists (select 1 from pg_roles where rolname = ${role}) as exists`.execute(db);
  if (rows[0]?.exists !== true) {
    throw new GatehouseError('config_invalid', `The application role ${role} does not exist in the database`, {
      path: 'store',
    });
  }
  if (rows[0].owner === role) {
    throw new GatehouseError(
      'config_invalid',
      `The application role ${role} is the role that runs migrations: give migrationStore the owner role and store a separate one`,
      { path: 'store' },
    );
  }
  const target = sql.id(role);
  const inSchema = sql.id(schema);
  await sql`grant usage on schema ${inSchema} to ${target}`.execute(db);
  await sql`grant select, insert, update, delete on all tables in schema ${inSchema} to ${target}`.execute(db);
  await sql`revoke insert, update, delete on ${sql.id(schema, 'kysely_migration')}, ${sql.id(schema, 'kysely_migration_lock')} from ${target}`.execute(
    db,
  );
}

/** The session's role, whether row-level security binds it (neither superuser nor BYPASSRLS), and the tables' owner. */
export async function inspectRole(db: Kysely<StoreDatabase>): Promise<NonNullable<StoreInspection['role']>> {
  const { rows } = await sql<{ name: string; bound: boolean; tables_owner: string | null }>`select current_user as name,
      not (r.rolsuper or r.rolbypassrls) as bound,
      (select t.tableowner from pg_tables t where t.schemaname = current_schema() and t.tablename = 'connections')
        as tables_owner
    from pg_roles r where r.rolname = current_user`.execute(db);
  const row = rows[0];
  const name = row?.name ?? 'unknown';
  const tablesOwner = row?.tables_owner ?? undefined;
  return {
    name,
    boundByRowLevelSecurity: row?.bound === true,
    ownsTables: tablesOwner === name,
    ...(tablesOwner === undefined ? {} : { tablesOwner }),
  };
}
