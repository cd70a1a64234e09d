import type { Selectable } from 'kysely';
import type { DataKeyRecord, DataKeyRepository } from './port.ts';
import type { StoreContext } from './store-context.ts';
import type { DataKeysTable } from './store-database.ts';
import { toBuffer } from './to-buffer.ts';

export function createDataKeyRepository({ run, read }: StoreContext): DataKeyRepository {
  return {
    insert: (record) =>
      run('dataKeys.insert', record.tenantId, async (db) => {
        const result = await db
          .insertInto('data_keys')
          .values({
            tenant_id: record.tenantId,
            version: record.version,
            master_key_version: record.masterKeyVersion,
            wrapped_key: toBuffer(record.wrappedKey),
            created_at: record.createdAt,
          })
          .onConflict((c) => c.columns(['tenant_id', 'version']).doNothing())
          .executeTakeFirst();
        return (result.numInsertedOrUpdatedRows ?? 0n) > 0n;
      }),
    list: (tenantId) =>
      read('dataKeys.list', tenantId, async (db) => {
        const rows = await db
          .selectFrom('data_keys')
          .selectAll()
          .where('tenant_id', '=', tenantId)
          .orderBy('version')
          .execute();
        return rows.map(toDataKeyRecord);
      }),
    rewrap: (tenantId, version, masterKeyVersion, wrappedKey) =>
      run('dataKeys.rewrap', tenantId, async (db) => {
        await db
          .updateTable('data_keys')
          .set({ master_key_version: masterKeyVersion, wrapped_key: toBuffer(wrappedKey) })
          .where('tenant_id', '=', tenantId)
          .where('version', '=', version)
          .execute();
      }),
    deleteTenant: (tenantId) =>
      run('dataKeys.deleteTenant', tenantId, async (db) => {
        await db.deleteFrom('data_keys').where('tenant_id', '=', tenantId).execute();
      }),
  };
}

function toDataKeyRecord(row: Selectable<DataKeysTable>): DataKeyRecord {
  return {
    tenantId: row.tenant_id,
    version: Number(row.version),
    masterKeyVersion: Number(row.master_key_version),
    wrappedKey: new Uint8Array(row.wrapped_key),
    createdAt: Number(row.created_at),
  };
}
