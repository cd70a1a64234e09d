import { type Kysely, Migrator, sql } from 'kysely';
import { GatehouseError } from '../core/index.ts';
import { createAlertDeliveryRepository } from './create-alert-delivery-repository.ts';
import { createApprovalRepository } from './create-approval-repository.ts';
import { createApprovalTaskRepository } from './create-approval-task-repository.ts';
import { createAuditRepository } from './create-audit-repository.ts';
import { createClientKeyRepository } from './create-client-key-repository.ts';
import { createConnectFlowRepository } from './create-connect-flow-repository.ts';
import { createConnectionRepository } from './create-connection-repository.ts';
import { createDataKeyRepository } from './create-data-key-repository.ts';
import { createMigrations } from './create-migrations.ts';
import { createOAuthServerRepository } from './create-oauth-server-repository.ts';
import { createSecretRepository } from './create-secret-repository.ts';
import { createServiceDescriptionRepository } from './create-service-description-repository.ts';
import { createTenantConfigRepository, type TenantConfigNotifier } from './create-tenant-config-repository.ts';
import { createTenantRepository } from './create-tenant-repository.ts';
import { createUsageRepository } from './create-usage-repository.ts';
import {
  createOperatorSessionEndRepository,
  createUserRepository,
  createUserSessionRepository,
} from './create-user-repository.ts';
import { createApiTokenRepository, createUserRoleRepository } from './create-user-role-repository.ts';
import type { MigrateOptions, MigrationOutcome, Store, StoreInspection } from './port.ts';
import { purgeTenant } from './purge-tenant.ts';
import {
  type ScopedRun,
  type StoreContext,
  type TenantScope,
  type TransactionWithEffects,
  tenantSettingOf,
} from './store-context.ts';
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
  /**
   * PostgreSQL: runs `fn` in a transaction scoped to one tenant (row-level security). Absent (SQLite): `fn` gets
   * the store's builder as is.
   */
  readonly inTenantTransaction?: <T>(
    db: Kysely<StoreDatabase>,
    scope: TenantScope,
    fn: (db: Kysely<StoreDatabase>) => Promise<T>,
  ) => Promise<T>;
  /**
   * PostgreSQL: `inTenantTransaction` for an operation that may run twice, in one round trip when it sends one
   * statement; one that sends more runs again as a full transaction and `manyStatements` is called.
   */
  readonly oneStatementInTenant?: <T>(
    db: Kysely<StoreDatabase>,
    scope: TenantScope,
    fn: (db: Kysely<StoreDatabase>) => Promise<T>,
    manyStatements: () => void,
  ) => Promise<T>;
  /**
   * PostgreSQL: runs the migrator on one connection whose session sees every tenant (`gatehouse.tenant=*`), so a
   * data migration is not filtered by row-level security; then grants the application role its privileges.
   */
  readonly onMigrationConnection?: <T>(
    db: Kysely<StoreDatabase>,
    fn: (db: Kysely<StoreDatabase>) => Promise<T>,
  ) => Promise<T>;
  /** PostgreSQL: grants a non-owner application role what serving needs (see `MigrateOptions.applicationRole`). */
  readonly grantApplicationRole?: (db: Kysely<StoreDatabase>, role: string) => Promise<void>;
  /** PostgreSQL: the session's role and whether row-level security binds it (for `inspect`). */
  readonly inspectRole?: (db: Kysely<StoreDatabase>) => Promise<NonNullable<StoreInspection['role']>>;
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

  async function guard<T>(operation: string, fn: () => Promise<T>): Promise<T> {
    if (closed) throw unavailable(operation);
    try {
      return await fn();
    } catch (error) {
      if (closed || features.isUnavailable(error)) throw unavailable(operation, error);
      throw error;
    }
  }

  const { inTenantTransaction } = options;
  const once: ScopedRun = inTenantTransaction
    ? (operation, scope, fn) => guard(operation, () => inTenantTransaction(db, scope, fn))
    : (operation, _scope, fn) => guard(operation, () => fn(db));
  // A read (or idempotent write) is tried in one round trip until it shows it sends more than one statement.
  const { oneStatementInTenant } = options;
  const manyStatementReads = new Set<string>();
  const onceRead: ScopedRun = oneStatementInTenant
    ? (operation, scope, fn) =>
        manyStatementReads.has(operation)
          ? once(operation, scope, fn)
          : guard(operation, () =>
              oneStatementInTenant(db, scope, fn, () => {
                manyStatementReads.add(operation);
              }),
            )
    : once;
  const onceInTransaction: ScopedRun = inTenantTransaction
    ? once
    : (operation, _scope, fn) => guard(operation, () => db.transaction().execute(fn));
  /**
   * On PostgreSQL every operation is a transaction: when its connection was lost (a restart, pg_terminate_backend,
   * a reset socket) before `commit` was sent, the server rolled it back and nothing was written, so it runs once more
   * on a fresh connection (the pool never gives an ended client out again). Past the point of no return (`fn`
   * finished, so `commit` may have landed; or `fn` said its effects began) only an idempotent operation runs again.
   * Once only: a database that is down stays down.
   */
  const retrying =
    (base: ScopedRun, idempotent: boolean): TransactionWithEffects =>
    async (operation, scope, fn) => {
      // On SQLite too: a tenant `*` stored there would mean every tenant once the store moves to PostgreSQL.
      tenantSettingOf(scope);
      let pastReturn = false;
      const markPastReturn = () => {
        pastReturn = !idempotent;
      };
      const attempt = () =>
        base(operation, scope, async (on) => {
          const result = await fn(on, markPastReturn);
          markPastReturn();
          return result;
        });
      return attempt().catch((error: unknown) => {
        if (closed || pastReturn || !features.isConnectionLost((error as { cause?: unknown }).cause ?? error)) {
          throw error;
        }
        return attempt();
      });
    };
  const context: StoreContext = {
    features,
    appendAudit: options.appendAudit,
    run: retrying(once, false),
    read: retrying(onceRead, true),
    transaction: retrying(onceInTransaction, false),
    transactionWithEffects: retrying(onceInTransaction, false),
  };

  async function grant(migrateOptions: MigrateOptions): Promise<void> {
    const role = migrateOptions.applicationRole;
    if (role !== undefined) await guard('grant', () => options.grantApplicationRole?.(db, role) ?? Promise.resolve());
  }

  async function migrate(migrateOptions: MigrateOptions = {}): Promise<MigrationOutcome> {
    if (migrateOptions.applicationRole !== undefined && options.grantApplicationRole === undefined) {
      throw new GatehouseError('config_invalid', 'An application role applies to PostgreSQL stores only', {
        path: 'migrationStore',
      });
    }
    // Upgrades (docs/operations.md "Upgrading"): while a rolling deploy runs, a process of the previous release
    // may (re)start on a database the new release has already migrated. Migrations are expand-only, so it serves
    // on that schema instead of refusing; it only refuses when it would have to run migrations of its own too
    // (then the database is not one release ahead but on another branch of history).
    const seen = migrateOptions.through === undefined ? await inspect() : undefined;
    if (seen !== undefined && seen.unknownMigrations.length > 0) {
      if (seen.pendingMigrations.length > 0) {
        throw new GatehouseError(
          'internal',
          `The store at ${target} ran migrations this release lacks (${seen.unknownMigrations.join(', ')}) but not ${seen.pendingMigrations.join(', ')} of this release; run the release that migrated it`,
          { dialect: features.dialect },
        );
      }
      await grant(migrateOptions);
      return { newerMigrations: seen.unknownMigrations, applied: [] };
    }
    const onConnection = options.onMigrationConnection ?? ((on, fn) => fn(on));
    const migrateOn = (on: Kysely<StoreDatabase>) => {
      const migrator = new Migrator({
        db: on,
        provider: { getMigrations: async () => createMigrations(features) },
        // A database that missed one migration (restored from before it, or a branch that landed a lower number
        // later) runs it instead of refusing to start; one that ran a migration this release lacks is still refused.
        allowUnorderedMigrations: true,
        ...(options.migrationTableSchema === undefined ? {} : { migrationTableSchema: options.migrationTableSchema }),
      });
      return migrateOptions.through === undefined
        ? migrator.migrateToLatest()
        : migrator.migrateTo(migrateOptions.through);
    };
    const { error, results } = await guard('migrate', () => onConnection(db, migrateOn));
    if (error === undefined) {
      await grant(migrateOptions);
      const applied = (results ?? []).filter((r) => r.status === 'Success').map((r) => r.migrationName);
      return { newerMigrations: [], applied };
    }
    if (features.isUnavailable(error)) throw unavailable('migrate', error);
    const failed = results?.find((r) => r.status === 'Error')?.migrationName ?? null;
    if (features.isPermissionDenied(error)) {
      // The application role of docs/operations.md "Tenant isolation", migrating without the owner's URL.
      throw new GatehouseError(
        'config_invalid',
        `${seen?.role?.name ?? 'The store role'} may not create or change the store's tables at ${target} (${(error as Error).message}): run migrations as the schema's owner, migrationStore (GATEHOUSE_MIGRATION_STORE)`,
        { path: 'migrationStore', migration: failed },
        { cause: error },
      );
    }
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
    return guard('inspect', async () => {
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
          ...(options.inspectRole ? { role: await options.inspectRole(db) } : {}),
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
    approvalTasks: createApprovalTaskRepository(context),
    usage: createUsageRepository(context),
    oauthServer: createOAuthServerRepository(context),
    users: createUserRepository(context),
    userSessions: createUserSessionRepository(context),
    operatorSessionEnds: createOperatorSessionEndRepository(context),
    userRoles: createUserRoleRepository(context),
    apiTokens: createApiTokenRepository(context),
    tenantConfigs: createTenantConfigRepository(context, options.tenantConfigNotifier),
    serviceDescriptions: createServiceDescriptionRepository(context),
    alertDeliveries: createAlertDeliveryRepository(context),
    purgeTenant: (tenantId) => purgeTenant(context, tenantId),
    migrate: (migrateOptions) =>
      options.runExclusive ? options.runExclusive(() => migrate(migrateOptions)) : migrate(migrateOptions),
    inspect,
    async ping() {
      await guard('ping', () => sql`select 1`.execute(db));
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
