import type { Kysely } from 'kysely';
import type { AuditRecord } from './port.ts';
import type { StoreDatabase } from './store-database.ts';

/**
 * What differs between the SQL dialects; everything else is written once in the shared repositories. Each
 * dialect folder exports one value of this type from `<dialect>-features.ts`.
 */
export interface StoreFeatures {
  readonly dialect: 'sqlite' | 'postgres';
  /** Column types used by the migrations. */
  readonly columnTypes: {
    readonly millis: 'integer' | 'bigint';
    readonly bytes: 'blob' | 'bytea';
    readonly float: 'real' | 'double precision';
  };
  /** Appends an audit record as the next `seq` of its tenant, atomically across processes, in one statement. */
  appendAudit(db: Kysely<StoreDatabase>, record: AuditRecord): Promise<void>;
  /** True when an error means the database cannot be reached or used now (retryable), not a bad query. */
  isUnavailable(error: unknown): boolean;
}
