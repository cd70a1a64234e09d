import { type Selectable, sql } from 'kysely';
import type { ClientKeyRecord, ClientKeyRepository } from './port.ts';
import type { StoreContext } from './store-context.ts';
import type { ClientKeysTable } from './store-database.ts';

export function createClientKeyRepository({ db, run }: StoreContext): ClientKeyRepository {
  return {
    upsert: (record) =>
      run('clientKeys.upsert', async () => {
        const row = {
          tenant_id: record.tenantId,
          id: record.id,
          name: record.name,
          hash: record.hash,
          prefix: record.prefix,
          toolsets: JSON.stringify(record.toolsets),
          subject: record.subject,
          created_at: record.createdAt,
          revoked_at: record.revokedAt,
        };
        // The same key written again (every start writes the configured keys) keeps its creation time and, above
        // all, its revocation: a revoked key never comes back (issue 17, finding 3). A new key under the name
        // (a rotated one) starts afresh.
        const sameKey = sql<boolean>`client_keys.hash = excluded.hash`;
        await db
          .insertInto('client_keys')
          .values(row)
          .onConflict((c) =>
            c.columns(['tenant_id', 'name']).doUpdateSet({
              id: row.id,
              hash: row.hash,
              prefix: row.prefix,
              toolsets: row.toolsets,
              subject: row.subject,
              created_at: sql`case when ${sameKey} then client_keys.created_at else excluded.created_at end`,
              revoked_at: sql`case when ${sameKey} then client_keys.revoked_at else excluded.revoked_at end`,
            }),
          )
          .execute();
      }),
    // Deliberately across tenants: the caller learns the tenant from the key's row and compares it.
    findByHash: (hash) =>
      run('clientKeys.findByHash', async () => {
        const row = await db.selectFrom('client_keys').selectAll().where('hash', '=', hash).executeTakeFirst();
        return row && toClientKeyRecord(row);
      }),
    list: (tenantId) =>
      run('clientKeys.list', async () => {
        const rows = await db
          .selectFrom('client_keys')
          .selectAll()
          .where('tenant_id', '=', tenantId)
          .orderBy('name')
          .execute();
        return rows.map(toClientKeyRecord);
      }),
    revoke: (tenantId, id, at) =>
      run('clientKeys.revoke', async () => {
        const result = await db
          .updateTable('client_keys')
          .set({ revoked_at: at })
          .where('tenant_id', '=', tenantId)
          .where('id', '=', id)
          .where('revoked_at', 'is', null)
          .executeTakeFirst();
        return result.numUpdatedRows > 0n;
      }),
    deleteTenant: (tenantId) =>
      run('clientKeys.deleteTenant', async () => {
        const result = await db.deleteFrom('client_keys').where('tenant_id', '=', tenantId).executeTakeFirst();
        return Number(result.numDeletedRows);
      }),
  };
}

function toClientKeyRecord(row: Selectable<ClientKeysTable>): ClientKeyRecord {
  return {
    tenantId: row.tenant_id,
    id: row.id,
    name: row.name,
    hash: row.hash,
    prefix: row.prefix,
    toolsets: JSON.parse(row.toolsets) as string[],
    subject: row.subject,
    createdAt: Number(row.created_at),
    revokedAt: row.revoked_at === null ? null : Number(row.revoked_at),
  };
}
