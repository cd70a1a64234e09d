import type { Kysely } from 'kysely';
import type { AuditRecord, AuditSeal } from './port.ts';
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
  /** True when an error means the database cannot be reached or used now (retryable), not a bad query. */
  isUnavailable(error: unknown): boolean;
  /**
   * True when the error says the connection the operation ran on was lost (terminated by the server, reset): a
   * fresh connection may well succeed, so a read is tried once more (`StoreContext.read`).
   */
  isConnectionLost(error: unknown): boolean;
  /** True when the database refused the statement for the role's privileges (a migration run by a non-owner). */
  isPermissionDenied(error: unknown): boolean;
  /** True when a statement broke a unique constraint or primary key (another process may have written the row). */
  isUniqueViolation(error: unknown): boolean;
}

/**
 * Appends one tenant's batch of audit records to its hash chain in one transaction holding the tenant's chain head
 * locked (see `AuditRepository.appendBatch`). Each dialect folder provides one, built over its driver.
 */
export type AuditAppender = (
  db: Kysely<StoreDatabase>,
  tenantId: string,
  records: readonly AuditRecord[],
  seal: AuditSeal,
) => Promise<readonly AuditRecord[]>;
