import { type Selectable, sql } from 'kysely';
import type { ClientKeyRecord, ClientKeyRepository } from './port.ts';
import { allTenants, type StoreContext } from './store-context.ts';
import type { ClientKeysTable } from './store-database.ts';

export function createClientKeyRepository({ read, transaction, features }: StoreContext): ClientKeyRepository {
  const upsertOnce = (record: ClientKeyRecord) =>
    transaction('clientKeys.upsert', record.tenantId, async (trx) => {
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
      // A revoked value is revoked for good, whatever row holds the name now. After a rotation (K1 revoked,
      // K2 written) a start with the previous config brings K1 back: it must neither come back active nor
      // replace K2, which a newer process (a rolling deploy) is serving; so it is written only where the
      // name has no row at all, and then as revoked.
      const tombstone = await trx
        .selectFrom('client_key_revocations')
        .select('revoked_at')
        .where('tenant_id', '=', record.tenantId)
        .where('hash', '=', record.hash)
        .executeTakeFirst();
      if (tombstone !== undefined) {
        await trx
          .insertInto('client_keys')
          .values({ ...row, revoked_at: Number(tombstone.revoked_at) })
          .onConflict((c) => c.doNothing())
          .execute();
        return 'revoked' as const;
      }
      // The same key written again (every start writes the configured keys) keeps its creation time and its
      // revocation (issue 17, finding 3). A new key under the name (a rotated one) starts afresh.
      const sameKey = sql<boolean>`client_keys.hash = excluded.hash`;
      await trx
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
      return 'written' as const;
    });
  return {
    // Every process of a fleet writes a changed tenant's configured keys at once. The conflict target above is
    // (tenant, name), so an insert racing another process's insert of the same row breaks the primary key
    // instead (PostgreSQL checks the other unique indexes only once it has inserted). Written again, the row is
    // there and the name conflict takes it; a value another key really holds is refused again, and thrown.
    upsert: async (record) => {
      try {
        return await upsertOnce(record);
      } catch (error) {
        if (!features.isUniqueViolation(error)) throw error;
        return upsertOnce(record);
      }
    },
    // Deliberately across tenants: the caller learns the tenant from the key's row and compares it.
    findByHash: (hash) =>
      read('clientKeys.findByHash', allTenants, async (db) => {
        const row = await db
          .selectFrom('client_keys')
          .selectAll('client_keys')
          // A tombstoned value counts as revoked even if some path wrote its row active again.
          .select((eb) =>
            eb
              .selectFrom('client_key_revocations as r')
              .select('r.revoked_at')
              .whereRef('r.tenant_id', '=', 'client_keys.tenant_id')
              .whereRef('r.hash', '=', 'client_keys.hash')
              .as('tombstoned_at'),
          )
          .where('hash', '=', hash)
          .executeTakeFirst();
        if (row === undefined) return undefined;
        const record = toClientKeyRecord(row);
        return record.revokedAt === null && row.tombstoned_at != null
          ? { ...record, revokedAt: Number(row.tombstoned_at) }
          : record;
      }),
    list: (tenantId) =>
      read('clientKeys.list', tenantId, async (db) => {
        const rows = await db
          .selectFrom('client_keys')
          .selectAll()
          .where('tenant_id', '=', tenantId)
          .orderBy('name')
          .execute();
        return rows.map(toClientKeyRecord);
      }),
    revoke: (tenantId, id, at) =>
      transaction('clientKeys.revoke', tenantId, async (trx) => {
        const result = await trx
          .updateTable('client_keys')
          .set({ revoked_at: at })
          .where('tenant_id', '=', tenantId)
          .where('id', '=', id)
          .where('revoked_at', 'is', null)
          .executeTakeFirst();
        if (result.numUpdatedRows === 0n) return false;
        const row = await trx
          .selectFrom('client_keys')
          .select('hash')
          .where('tenant_id', '=', tenantId)
          .where('id', '=', id)
          .executeTakeFirstOrThrow();
        // The tombstone of the value: outlives this row being rewritten with another value.
        await trx
          .insertInto('client_key_revocations')
          .values({ tenant_id: tenantId, hash: row.hash, key_id: id, revoked_at: at })
          .onConflict((c) => c.columns(['tenant_id', 'hash']).doNothing())
          .execute();
        return true;
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
