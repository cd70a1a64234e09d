import { Kysely, sql } from 'kysely';
import pg from 'pg';
import { GatehouseError } from '../../core/index.ts';
import { createKyselyStore } from '../create-kysely-store.ts';
import type { Store } from '../port.ts';
import type { StoreDatabase } from '../store-database.ts';
import { createPostgresAuditAppender } from './create-postgres-audit-appender.ts';
import { createPostgresDialect } from './create-postgres-dialect.ts';
import { createPostgresNotifier } from './create-postgres-notifier.ts';
import { createTenantPipelinePool } from './create-tenant-pipeline-pool.ts';
import { postgresFeatures } from './postgres-features.ts';
import { grantApplicationRole, inspectRole, onMigrationConnection } from './postgres-roles.ts';
import { runInTenantTransaction, runOneStatementInTenant } from './run-in-tenant-transaction.ts';

export interface PostgresStoreOptions {
  /** Schema holding the store's tables (the connections' `search_path`); default the server's default. */
  readonly schema?: string;
  /** Maximum pooled connections (default 10). */
  readonly poolMax?: number;
  /** Connect timeout in ms (default 5,000). */
  readonly connectTimeoutMs?: number;
  /** Drops `schema` with everything in it on close. Only for test schemas (`gh_test_...`). */
  readonly dropSchemaOnClose?: boolean;
}

/**
 * Opens a PostgreSQL store over a `pg` pool and checks that the database answers. Throws `store_unavailable`
 * (with `target`, a URL without credentials, in the message) when it does not.
 */
export async function openPostgresStore(
  connectionString: string,
  target: string,
  options: PostgresStoreOptions = {},
): Promise<Store> {
  const { schema } = options;
  if (options.dropSchemaOnClose && !schema?.startsWith('gh_test_')) {
    throw new GatehouseError('config_invalid', 'dropSchemaOnClose is only for test schemas named gh_test_...', {
      path: 'store',
    });
  }
  const pool = new pg.Pool({
    connectionString,
    max: options.poolMax ?? 10,
    connectionTimeoutMillis: options.connectTimeoutMs ?? 5_000,
    idleTimeoutMillis: 30_000,
    // The process id names each backend in pg_stat_activity: which gateway of a fleet holds which connection.
    application_name: `gatehouse/${process.pid}`,
    // Statements sent before the previous one's answer go out at once (create-tenant-pipeline-pool.ts).
    pipeline: true,
    // No gatehouse.tenant here: every store operation sets it locally in its own transaction
    // (run-in-tenant-transaction.ts), so a connection outside one sees no tenant rows (row-level security, 0008).
    ...(schema === undefined ? {} : { options: `-c search_path=${schema}` }),
  });
  // An idle client losing its connection emits 'error' on the pool; unhandled, that would end the process.
  // The next query reports the failure as store_unavailable instead.
  pool.on('error', () => undefined);
  // A checked-out client can lose its session too (e.g. the refresh lease ends it: idle_in_transaction_session_timeout);
  // the pool removes its own listener while a client is out, and an 'error' without one would end the process.
  pool.on('connect', (client) => client.on('error', () => undefined));
  const db = new Kysely<StoreDatabase>({ dialect: createPostgresDialect(createTenantPipelinePool(pool)) });

  let migrationTableSchema: string;
  try {
    const result = await sql<{ schema: string | null }>`select current_schema() as schema`.execute(db);
    migrationTableSchema = schema ?? result.rows[0]?.schema ?? 'public';
  } catch (error) {
    await db.destroy().catch(() => undefined);
    const code = (error as { code?: unknown }).code;
    // A server that answered with a refusal (class 28: the role or its password; 3D000: no such database) names
    // the role or database in its message, never a password: say that instead of "Cannot reach".
    const refused =
      typeof code === 'string' && (code.startsWith('28') || code === '3D000') && error instanceof Error
        ? error.message
        : undefined;
    throw new GatehouseError(
      'store_unavailable',
      refused === undefined
        ? `Cannot reach the PostgreSQL store at ${target} (${typeof code === 'string' ? code : 'no answer'})`
        : `The PostgreSQL server at ${target} refused the connection: ${refused} (${code})`,
      { dialect: 'postgres' },
      { cause: error },
    );
  }

  return createKyselyStore({
    db,
    features: postgresFeatures,
    appendAudit: createPostgresAuditAppender(),
    target,
    migrationTableSchema,
    inTenantTransaction: runInTenantTransaction,
    oneStatementInTenant: runOneStatementInTenant,
    onMigrationConnection,
    grantApplicationRole: (on, role) => grantApplicationRole(on, migrationTableSchema, role),
    inspectRole,
    tenantConfigNotifier: createPostgresNotifier(pool, migrationTableSchema),
    beforeClose: options.dropSchemaOnClose
      ? async () => {
          // Best effort: a test's cleanup must not hide the test's own failure.
          await sql`drop schema if exists ${sql.id(migrationTableSchema)} cascade`.execute(db).catch(() => undefined);
        }
      : undefined,
  });
}
