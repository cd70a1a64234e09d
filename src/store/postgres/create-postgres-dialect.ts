import { type Dialect, PostgresDialect, type PostgresPool } from 'kysely';

/** Kysely's PostgreSQL dialect over a pool; its migrator takes an advisory lock, so no change is needed. */
export function createPostgresDialect(pool: PostgresPool): Dialect {
  return new PostgresDialect({ pool });
}
