import { sql } from 'kysely';
import type { StoreFeatures } from '../store-features.ts';
import { toAuditRow } from '../to-audit-row.ts';

const unavailableCodes = /^SQLITE_(BUSY|LOCKED|CANTOPEN|IOERR|FULL|READONLY|PROTOCOL)/;

export const sqliteFeatures: StoreFeatures = {
  dialect: 'sqlite',
  columnTypes: { millis: 'integer', bytes: 'blob', float: 'real' },
  async appendAudit(db, record) {
    // One INSERT takes SQLite's single write lock before it reads, so `max(seq) + 1` cannot race: not
    // with this process (one connection) nor with another one (busy_timeout waits for the lock).
    await db
      .insertInto('audit_records')
      .values({
        ...toAuditRow(record),
        seq: (eb) =>
          eb
            .selectFrom('audit_records')
            .select(sql<number>`coalesce(max(seq), 0) + 1`.as('next'))
            .where('tenant_id', '=', record.tenantId),
      })
      .execute();
  },
  isUnavailable(error) {
    if (!(error instanceof Error)) return false;
    const code = (error as { code?: unknown }).code;
    if (typeof code === 'string' && unavailableCodes.test(code)) return true;
    return /database connection is not open|driver has already been destroyed/.test(error.message);
  },
};
