import { createHash } from 'node:crypto';
import Database from 'better-sqlite3';
import { Kysely } from 'kysely';
import { describe, expect, it } from 'vitest';
import { createKyselyStore } from '../create-kysely-store.ts';
import { toolCallAuditRecord } from '../fixtures/tool-call-audit-record.ts';
import type { AuditRecord, AuditSeal } from '../port.ts';
import type { StoreDatabase } from '../store-database.ts';
import { createSqliteAuditAppender } from './create-sqlite-audit-appender.ts';
import { createSqliteDialect } from './create-sqlite-dialect.ts';
import { sqliteFeatures } from './sqlite-features.ts';

const seal: AuditSeal = (record, prevHash) =>
  createHash('sha256').update(`${prevHash}|${record.seq}|${record.id}`).digest('hex');

async function openMemoryStore() {
  const database = new Database(':memory:');
  const db = new Kysely<StoreDatabase>({ dialect: createSqliteDialect(database) });
  const store = createKyselyStore({
    db,
    features: sqliteFeatures,
    appendAudit: createSqliteAuditAppender(database),
    target: ':memory:',
  });
  await store.migrate();
  return { db, store };
}

describe('createSqliteAuditAppender', () => {
  it('writes at once when no transaction is open', async () => {
    const { store } = await openMemoryStore();
    try {
      const written = await store.audit.appendBatch(
        't',
        [toolCallAuditRecord('t', 'a', 1), toolCallAuditRecord('t', 'b', 1)],
        seal,
      );
      expect(written.map((r) => r.seq)).toEqual([1, 2]);
    } finally {
      await store.close();
    }
  });

  it('AU-04 an append during a Kysely transaction waits for it and is not rolled back with it', async () => {
    const { db, store } = await openMemoryStore();
    try {
      let appended: Promise<readonly AuditRecord[]> | undefined;
      await expect(
        db.transaction().execute(async (trx) => {
          await trx.selectFrom('audit_heads').selectAll().execute();
          appended = store.audit.appendBatch('t', [toolCallAuditRecord('t', 'inside', 1)], seal);
          await new Promise((resolve) => setTimeout(resolve, 5));
          throw new Error('roll back');
        }),
      ).rejects.toThrow('roll back');
      expect((await appended)?.map((r) => r.seq)).toEqual([1]);
      const rows = await store.audit.query({ tenantId: 't' });
      expect(rows.map((r) => r.id)).toEqual(['inside']);
    } finally {
      await store.close();
    }
  });
});
