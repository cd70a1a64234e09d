import type { StoreFeatures } from '../store-features.ts';
import { toAuditRow } from '../to-audit-row.ts';

const unavailableErrnos = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EPIPE',
]);

/**
 * SQLSTATE classes meaning "cannot use the database now": 08 connection exception, 28 invalid authorization,
 * 3D invalid catalog (no such database), 53 insufficient resources, 57P operator intervention (shutdown).
 */
const unavailableSqlState = /^(08|28|3D|53|57P)/;

export const postgresFeatures: StoreFeatures = {
  dialect: 'postgres',
  columnTypes: { millis: 'bigint', bytes: 'bytea', float: 'double precision' },
  async appendAudit(db, record) {
    // One statement: the upsert on audit_sequences takes that tenant's counter row lock until commit, so
    // concurrent appends from any number of processes get consecutive seq values without retries or gaps.
    await db
      .with('next', (qb) =>
        qb
          .insertInto('audit_sequences')
          .values({ tenant_id: record.tenantId, last_seq: 1 })
          .onConflict((c) =>
            c.column('tenant_id').doUpdateSet({ last_seq: (eb) => eb('audit_sequences.last_seq', '+', 1) }),
          )
          .returning('last_seq'),
      )
      .insertInto('audit_records')
      .values({
        ...toAuditRow(record),
        seq: (eb) => eb.selectFrom('next').select((n) => n.ref('last_seq').$castTo<number>().as('seq')),
      })
      .execute();
  },
  isUnavailable(error) {
    if (!(error instanceof Error)) return false;
    const code = (error as { code?: unknown }).code;
    if (typeof code === 'string' && (unavailableErrnos.has(code) || unavailableSqlState.test(code))) return true;
    return /Connection terminated|timeout exceeded when trying to connect|Cannot use a pool after calling end|driver has already been destroyed/.test(
      error.message,
    );
  },
};
