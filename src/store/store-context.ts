import type { Kysely } from 'kysely';
import { GatehouseError } from '../core/index.ts';
import { allTenantsSetting } from './create-row-level-security-migration.ts';
import type { StoreDatabase } from './store-database.ts';
import type { AuditAppender, StoreFeatures } from './store-features.ts';

/**
 * The scope every store operation names (DESIGN.md §5, docs/operations.md "Tenant isolation"): a tenant id, whose
 * rows alone PostgreSQL's row-level security then lets the operation see and write, or `allTenants`, the explicit
 * bypass for the few cross-tenant operations (a client key found by its hash, the tenant list, expiry sweeps, an
 * invite found by its hash). SQLite has no row-level security: there the scope changes nothing.
 */
export type TenantScope = string | typeof allTenants;

/**
 * The explicit bypass: a symbol, not the policies' string `*` (`allTenantsSetting`), so that no tenant id coming
 * from a URL, a document or a key can name every tenant; a tenant id equal to `*` is refused (`tenantSettingOf`).
 */
export const allTenants: unique symbol = Symbol('every tenant');

/**
 * The value of `gatehouse.tenant` for `scope`: the tenant id, or `*` for `allTenants`. A tenant id `*` is refused
 * (`invalid_request`): it would lift row-level security for its operation (issue 13 adversary finding).
 */
export function tenantSettingOf(scope: TenantScope): string {
  if (scope === allTenants) return allTenantsSetting;
  if (scope === allTenantsSetting) {
    throw new GatehouseError(
      'invalid_request',
      `tenant: "${allTenantsSetting}" is not a tenant id (it means every tenant to the store's row-level security)`,
      { field: 'tenant' },
    );
  }
  return scope;
}

/** Runs `fn` with the query builder of one tenant scope (PostgreSQL: a transaction with the tenant set locally). */
export type ScopedRun = <T>(
  operation: string,
  scope: TenantScope,
  fn: (db: Kysely<StoreDatabase>) => Promise<T>,
) => Promise<T>;

/** A `ScopedRun` whose `fn` says when it begins what must not happen twice (see `StoreContext.transactionWithEffects`). */
export type TransactionWithEffects = <T>(
  operation: string,
  scope: TenantScope,
  fn: (db: Kysely<StoreDatabase>, effectsBegin: () => void) => Promise<T>,
) => Promise<T>;

/**
 * What the shared repositories get: the dialect's differences, the error guard and the scoped query builder.
 * There is deliberately no bare `db` here: a repository reaches the database only through `run` or `transaction`,
 * so no query can run without naming its tenant.
 */
export interface StoreContext {
  readonly features: StoreFeatures;
  /** The dialect's audit chain appender (over its driver). */
  readonly appendAudit: AuditAppender;
  /**
   * Runs one store operation in a tenant scope. A closed store or an unreachable database becomes
   * `store_unavailable` (retryable); any other failure (a constraint violation, a bug) is rethrown as is.
   * PostgreSQL: `fn` runs in one transaction that set `gatehouse.tenant` with `set_config(..., true)` (local to
   * it); SQLite: `fn` gets the store's builder, outside any transaction (as before row-level security).
   * When the connection was lost before `commit` was sent (a PostgreSQL restart, `pg_terminate_backend`, a reset
   * socket), the transaction was rolled back and `fn` runs once more on a fresh connection: `fn` must only run
   * statements on the builder it is given (no other effects, no state outside it).
   */
  readonly run: ScopedRun;
  /**
   * Like `run`, for an operation that only reads or whose write is idempotent (the same statement applied twice
   * leaves what applying it once leaves): run once more also when the connection was lost during `commit`, whose
   * outcome is then unknown. Never for a write that must not happen twice (an insert of a new row, a consume, an
   * append).
   */
  readonly read: ScopedRun;
  /** Like `run`, but `fn` runs in a transaction on both dialects (PostgreSQL: the same tenant transaction). */
  readonly transaction: ScopedRun;
  /**
   * Like `transaction`, for `fn` that does more than run statements (the refresh lock's holder redeems a refresh
   * token while it holds the row): once `fn` calls `effectsBegin`, a lost connection is not retried.
   */
  readonly transactionWithEffects: TransactionWithEffects;
}
