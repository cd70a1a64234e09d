import type { Kysely } from 'kysely';
import type { StoreDatabase } from './store-database.ts';
import type { AuditAppender, StoreFeatures } from './store-features.ts';

/** What the shared repositories get: the query builder, the dialect's differences and the error guard. */
export interface StoreContext {
  readonly db: Kysely<StoreDatabase>;
  readonly features: StoreFeatures;
  /** The dialect's audit chain appender (over its driver). */
  readonly appendAudit: AuditAppender;
  /**
   * Runs one store operation. A closed store or an unreachable database becomes `store_unavailable`
   * (retryable); any other failure (a constraint violation, a bug) is rethrown as is.
   */
  run<T>(operation: string, fn: () => Promise<T>): Promise<T>;
}
