import type { Kysely, Selectable } from 'kysely';
import type { SecretRecord, SecretRepository } from './port.ts';
import type { StoreContext } from './store-context.ts';
import type { SecretsTable, StoreDatabase } from './store-database.ts';
import { toBuffer } from './to-buffer.ts';

export function createSecretRepository({ run, read }: StoreContext): SecretRepository {
  return {
    put: (record) =>
      run('secrets.put', record.tenantId, async (db) => {
        const ciphertext = toBuffer(record.ciphertext);
        await db
          .insertInto('secrets')
          .values({
            tenant_id: record.tenantId,
            owner: record.owner,
            field: record.field,
            ciphertext,
            updated_at: record.updatedAt,
          })
          .onConflict((c) =>
            c.columns(['tenant_id', 'owner', 'field']).doUpdateSet({ ciphertext, updated_at: record.updatedAt }),
          )
          .execute();
      }),
    putIfAbsent: (record) => read('secrets.putIfAbsent', record.tenantId, (db) => insertOrRead(db, record)),
    replaceIfUnchanged: (record, previous) =>
      // Idempotent: run again, the row no longer holds `previous` and the insert finds it there.
      read('secrets.replaceIfUnchanged', record.tenantId, async (db) => {
        await db
          .updateTable('secrets')
          .set({ ciphertext: toBuffer(record.ciphertext), updated_at: record.updatedAt })
          .where('tenant_id', '=', record.tenantId)
          .where('owner', '=', record.owner)
          .where('field', '=', record.field)
          .where('ciphertext', '=', toBuffer(previous))
          .execute();
        return insertOrRead(db, record);
      }),
    get: (tenantId, owner, field) =>
      read('secrets.get', tenantId, async (db) => {
        const row = await db
          .selectFrom('secrets')
          .selectAll()
          .where('tenant_id', '=', tenantId)
          .where('owner', '=', owner)
          .where('field', '=', field)
          .executeTakeFirst();
        return row && toSecretRecord(row);
      }),
    listByOwner: (tenantId, owner) =>
      read('secrets.listByOwner', tenantId, async (db) => {
        const rows = await db
          .selectFrom('secrets')
          .selectAll()
          .where('tenant_id', '=', tenantId)
          .where('owner', '=', owner)
          .orderBy('field')
          .execute();
        return rows.map(toSecretRecord);
      }),
    deleteByOwner: (tenantId, owner) =>
      run('secrets.deleteByOwner', tenantId, async (db) => {
        await db.deleteFrom('secrets').where('tenant_id', '=', tenantId).where('owner', '=', owner).execute();
      }),
  };
}

/** Inserts `record` unless its field exists, and returns the stored row either way. */
async function insertOrRead(db: Kysely<StoreDatabase>, record: SecretRecord): Promise<SecretRecord> {
  await db
    .insertInto('secrets')
    .values({
      tenant_id: record.tenantId,
      owner: record.owner,
      field: record.field,
      ciphertext: toBuffer(record.ciphertext),
      updated_at: record.updatedAt,
    })
    .onConflict((c) => c.columns(['tenant_id', 'owner', 'field']).doNothing())
    .execute();
  const row = await db
    .selectFrom('secrets')
    .selectAll()
    .where('tenant_id', '=', record.tenantId)
    .where('owner', '=', record.owner)
    .where('field', '=', record.field)
    .executeTakeFirstOrThrow();
  return toSecretRecord(row);
}

function toSecretRecord(row: Selectable<SecretsTable>): SecretRecord {
  return {
    tenantId: row.tenant_id,
    owner: row.owner,
    field: row.field,
    ciphertext: new Uint8Array(row.ciphertext),
    updatedAt: Number(row.updated_at),
  };
}
