import pg from 'pg';
import { createTestSchemaName, withStoreSchema } from '../../src/store/index.ts';

/**
 * The two PostgreSQL roles of a production deployment (docs/operations.md "Tenant isolation"), for tests:
 * `gh_rls_owner` owns the test schema and runs migrations (config `migrationStore`), `gh_rls_app` is the
 * gateway's application role (config `store`): neither is a superuser nor has BYPASSRLS, so row-level security
 * binds both. Roles are cluster-wide and kept between runs (suites run in parallel; dropping one could break
 * another run); each test gets its own schema.
 */
export const ownerRole = 'gh_rls_owner';
export const applicationRole = 'gh_rls_app';

export interface RoleSchema {
  readonly schema: string;
  /** The owner's URL, with `?schema=`: migrations only. */
  readonly ownerUrl: string;
  /** The application role's URL, with `?schema=`: what the gateway serves with. */
  readonly appUrl: string;
  /** A superuser client's SQL in the schema (assertions around the store; bypasses row-level security). */
  admin(statement: string, values?: unknown[]): Promise<pg.QueryResult>;
  drop(): Promise<void>;
}

export function asRole(url: string, role: string): string {
  const parsed = new URL(url);
  parsed.username = role;
  parsed.password = '';
  return parsed.toString();
}

/** A fresh schema owned by the owner role; the application role gets nothing until a migration grants it. */
export async function createRoleSchema(adminUrl: string): Promise<RoleSchema> {
  const schema = createTestSchemaName();
  const admin = new pg.Client({ connectionString: adminUrl, options: `-c search_path=${schema}` });
  await admin.connect();
  for (const role of [ownerRole, applicationRole]) {
    await admin.query(`do $$ begin create role ${role} login nosuperuser nobypassrls;
      exception when duplicate_object then null; end $$`);
  }
  await admin.query(`create schema "${schema}" authorization ${ownerRole}`);
  return {
    schema,
    ownerUrl: withStoreSchema(asRole(adminUrl, ownerRole), schema),
    appUrl: withStoreSchema(asRole(adminUrl, applicationRole), schema),
    admin: (statement, values) => admin.query(statement, values),
    async drop() {
      await admin.query(`drop schema if exists "${schema}" cascade`).catch(() => undefined);
      await admin.end();
    },
  };
}
