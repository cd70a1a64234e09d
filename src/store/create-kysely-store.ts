import { type Kysely, Migrator, sql } from 'kysely';
import { GatehouseError } from '../core/index.ts';
import { createApprovalRepository } from './create-approval-repository.ts';
import { createAuditRepository } from './create-audit-repository.ts';
import { createClientKeyRepository } from './create-client-key-repository.ts';
import { createConnectFlowRepository } from './create-connect-flow-repository.ts';
import { createConnectionRepository } from './create-connection-repository.ts';
import { createDataKeyRepository } from './create-data-key-repository.ts';
import { createMigrations } from './create-migrations.ts';
import { createOAuthServerRepository } from './create-oauth-server-repository.ts';
import { createSecretRepository } from './create-secret-repository.ts';
import { createTenantConfigRepository, type TenantConfigNotifier } from './create-tenant-config-repository.ts';
import { createTenantRepository } from './create-tenant-repository.ts';
import { createUsageRepository } from './create-usage-repository.ts';
import { createUserRepository, createUserSessionRepository } from './create-user-repository.ts';
import { createApiTokenRepository, createUserRoleRepository } from './create-user-role-repository.ts';
import type { Store, StoreInspection } from './port.ts';
import type { StoreContext } from './store-context.ts';
import type { StoreDatabase } from './store-database.ts';
import type { AuditAppender, StoreFeatures } from './store-features.ts';

export interface KyselyStoreOptions {
  readonly db: Kysely<StoreDatabase>;
  readonly features: StoreFeatures;
  /** The dialect's audit chain appender. */
  readonly appendAudit: AuditAppender;
  /** Where the database is, for messages: a path or a URL without credentials. */
  readonly target: string;
  /** PostgreSQL: the schema holding Kysely's migration tables (the store's own schema). */
  readonly migrationTableSchema?: string;
  /** Runs a migration exclusively within this process (SQLite: one file, several connections). */
  readonly runExclusive?: <T>(fn: () => Promise<T>) => Promise<T>;
  /** How tenant configuration changes reach other processes (PostgreSQL); absent = readers poll (SQLite). */
  readonly tenantConfigNotifier?: TenantConfigNotifier;
  /** Runs after the store is marked closed and before the driver is destroyed. */
  readonly beforeClose?: () => Promise<void>;
}

/** The Store over a Kysely instance: the shared repositories plus migrate, ping and close. */
export function createKyselyStore(options: KyselyStoreOptions): Store {
  const { db, features, target } = options;
  let closed = false;

  const unavailable = (operation: string, error?: unknown): GatehouseError => {
    const code = (error as { code?: unknown } | undefined)?.code;
    const reason = closed ? 'the store is closed' : typeof code === 'string' ? code : 'cannot reach the database';
    return new GatehouseError(
      'store_unavailable',
      `Store unavailable: ${operation} on ${target} failed (${reason})`,
      { dialect: features.dialect, operation },
      { cause: error },
    );
  };

  const context: StoreContext = {
    db,
    features,
    appendAudit: options.appendAudit,
    async run(operation, fn) {
      if (closed) throw unavailable(operation);
      try {
        return await fn();
      } catch (error) {
        if (closed || features.isUnavailable(error)) throw unavailable(operation, error);
        throw error;
      }
    },
  };

  async function migrate(): Promise<void> {
    const migrator = new Migrator({
      db,
      provider: { getMigrations: async () => createMigrations(features) },
      // A database that missed one migration (restored from before it, or a branch that landed a lower number
      // later) runs it instead of refusing to start; one that ran a migration this release lacks is still refused.
      allowUnorderedMigrations: true,
      ...(options.migrationTableSchema === undefined ? {} : { migrationTableSchema: options.migrationTableSchema }),
    });
    const { error, results } = await context.run('migrate', () => migrator.migrateToLatest());
    if (error === undefined) return;
    if (features.isUnavailable(error)) throw unavailable('migrate', error);
    const failed = results?.find((r) => r.status === 'Error')?.migrationName ?? null;
    throw new GatehouseError(
      'internal',
      `Store migration ${failed ?? '(setup)'} failed on ${target}`,
      { dialect: features.dialect, migration: failed },
      { cause: error },
    );
  }

  async function inspect(): Promise<StoreInspection> {
    const known = Object.keys(createMigrations(features));
    const table =
      options.migrationTableSchema === undefined
        ? 'kysely_migration'
        : `${options.migrationTableSchema}.kysely_migration`;
    return context.run('inspect', async () => {
      const ran = await sql<{ name: string }>`select name from ${sql.table(table)}`
        .execute(db)
        .then((result) => result.rows.map((row) => row.name))
        .catch((error: unknown) => {
          // A database never migrated has no migration table: everything is pending.
          if (features.isUnavailable(error)) throw error;
          return [] as string[];
        });
      const done = new Set(ran);
      const mine = new Set(known);
      if (features.dialect === 'postgres') {
        const { rows } = await sql<{ version: string; now: Date }>`select version() as version, now() as now`.execute(
          db,
        );
        const row = rows[0];
        return {
          dialect: features.dialect,
          serverVersion: (row?.version ?? 'PostgreSQL unknown').split(' ').slice(0, 2).join(' '),
          pendingMigrations: known.filter((name) => !done.has(name)),
          unknownMigrations: ran.filter((name) => !mine.has(name)),
          ...(row?.now ? { databaseTime: new Date(row.now) } : {}),
        };
      }
      const { rows } = await sql<{ version: string }>`select sqlite_version() as version`.execute(db);
      return {
        dialect: features.dialect,
        serverVersion: `SQLite ${rows[0]?.version ?? 'unknown'}`,
        pendingMigrations: known.filter((name) => !done.has(name)),
        unknownMigrations: ran.filter((name) => !mine.has(name)),
      };
    });
  }

  return {
    dialect: features.dialect,
    tenants: createTenantRepository(context),
    clientKeys: createClientKeyRepository(context),
    dataKeys: createDataKeyRepository(context),
    secrets: createSecretRepository(context),
    audit: createAuditRepository(context),
    connections: createConnectionRepository(context),
    connectFlow: createConnectFlowRepository(context),
    approvals: createApprovalRepository(context),
    usage: createUsageRepository(context),
    oauthServer: createOAuthServerRepository(context),
    users: createUserRepository(context),
    userSessions: createUserSessionRepository(context),
    userRoles: createUserRoleRepository(context),
    apiTokens: createApiTokenRepository(context),
    tenantConfigs: createTenantConfigRepository(context, options.tenantConfigNotifier),
    migrate: () => (options.runExclusive ? options.runExclusive(migrate) : migrate()),
    inspect,
    async ping() {
      await context.run('ping', () => sql`select 1`.execute(db));
    },
    async close() {
      if (closed) return;
      closed = true;
      try {
        await options.beforeClose?.();
      } finally {
        await db.destroy();
      }
    },
  };
}
