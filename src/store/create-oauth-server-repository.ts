import type { Selectable } from 'kysely';
import type { OAuthConsentRecord, OAuthServerRecord, OAuthServerRepository } from './port.ts';
import { allTenants, type StoreContext } from './store-context.ts';
import type { OAuthConsentsTable, OAuthServerRecordsTable } from './store-database.ts';
import { toBuffer } from './to-buffer.ts';

/** The authorization server's artefacts, keys and consents; every query filters by tenant. */
export function createOAuthServerRepository({ run, read }: StoreContext): OAuthServerRepository {
  return {
    upsert: (record) =>
      run('oauthServer.upsert', record.tenantId, async (db) => {
        const values = {
          tenant_id: record.tenantId,
          model: record.model,
          id_hash: record.idHash,
          payload: toBuffer(record.payload),
          grant_id: record.grantId,
          uid_hash: record.uidHash,
          aud: record.aud,
          account_id: record.accountId,
          client_id: record.clientId,
          expires_at: record.expiresAt,
          consumed_at: record.consumedAt,
        };
        await db
          .insertInto('oauth_server_records')
          .values(values)
          .onConflict((c) =>
            c.columns(['tenant_id', 'model', 'id_hash']).doUpdateSet({
              payload: values.payload,
              grant_id: values.grant_id,
              uid_hash: values.uid_hash,
              aud: values.aud,
              account_id: values.account_id,
              client_id: values.client_id,
              expires_at: values.expires_at,
            }),
          )
          .execute();
      }),
    find: (tenantId, model, idHash) =>
      read('oauthServer.find', tenantId, async (db) => {
        const row = await db
          .selectFrom('oauth_server_records')
          .selectAll()
          .where('tenant_id', '=', tenantId)
          .where('model', '=', model)
          .where('id_hash', '=', idHash)
          .executeTakeFirst();
        return row && toRecord(row);
      }),
    findByUid: (tenantId, model, uidHash) =>
      read('oauthServer.findByUid', tenantId, async (db) => {
        const row = await db
          .selectFrom('oauth_server_records')
          .selectAll()
          .where('tenant_id', '=', tenantId)
          .where('model', '=', model)
          .where('uid_hash', '=', uidHash)
          .executeTakeFirst();
        return row && toRecord(row);
      }),
    consume: (tenantId, model, idHash, at) =>
      run('oauthServer.consume', tenantId, async (db) => {
        await db
          .updateTable('oauth_server_records')
          .set({ consumed_at: at })
          .where('tenant_id', '=', tenantId)
          .where('model', '=', model)
          .where('id_hash', '=', idHash)
          .where('consumed_at', 'is', null)
          .execute();
      }),
    destroy: (tenantId, model, idHash) =>
      run('oauthServer.destroy', tenantId, async (db) => {
        await db
          .deleteFrom('oauth_server_records')
          .where('tenant_id', '=', tenantId)
          .where('model', '=', model)
          .where('id_hash', '=', idHash)
          .execute();
      }),
    revokeByGrantId: (tenantId, grantId) =>
      run('oauthServer.revokeByGrantId', tenantId, async (db) => {
        const result = await db
          .deleteFrom('oauth_server_records')
          .where('tenant_id', '=', tenantId)
          .where('grant_id', '=', grantId)
          .executeTakeFirst();
        return Number(result.numDeletedRows);
      }),
    revokeGrantsFor: (tenantId, accountId, clientId, resource) =>
      run('oauthServer.revokeGrantsFor', tenantId, async (db) => {
        // Grants stored before their resource was a column (aud null) go too: revoking more is the safe side.
        const grants = db
          .selectFrom('oauth_server_records')
          .select('grant_id')
          .where('tenant_id', '=', tenantId)
          .where('model', '=', 'Grant')
          .where('account_id', '=', accountId)
          .where('client_id', '=', clientId)
          .where((eb) => eb.or([eb('aud', '=', resource), eb('aud', 'is', null)]));
        const result = await db
          .deleteFrom('oauth_server_records')
          .where('tenant_id', '=', tenantId)
          .where('grant_id', 'in', grants)
          .executeTakeFirst();
        return Number(result.numDeletedRows);
      }),
    ensureKeys: (tenantId, sealed, at) =>
      read('oauthServer.ensureKeys', tenantId, async (db) => {
        await db
          .insertInto('oauth_server_keys')
          .values({ tenant_id: tenantId, sealed_keys: toBuffer(sealed), created_at: at })
          .onConflict((c) => c.column('tenant_id').doNothing())
          .execute();
        const row = await db
          .selectFrom('oauth_server_keys')
          .select('sealed_keys')
          .where('tenant_id', '=', tenantId)
          .executeTakeFirstOrThrow();
        return new Uint8Array(row.sealed_keys);
      }),
    deleteExpired: (before, limit) =>
      run('oauthServer.deleteExpired', allTenants, async (db) => {
        // At most `limit` rows, oldest expiry first, so one sweep never holds a long delete over a large backlog.
        const expired = db
          .selectFrom('oauth_server_records')
          .select(['tenant_id', 'model', 'id_hash'])
          .where('expires_at', 'is not', null)
          .where('expires_at', '<', before)
          .orderBy('expires_at')
          .limit(limit)
          .$asTuple('tenant_id', 'model', 'id_hash');
        const result = await db
          .deleteFrom('oauth_server_records')
          .where(({ eb, refTuple }) => eb(refTuple('tenant_id', 'model', 'id_hash'), 'in', expired))
          .executeTakeFirst();
        return Number(result.numDeletedRows);
      }),
    upsertConsent: (record) =>
      run('oauthServer.upsertConsent', record.tenantId, async (db) => {
        await db
          .insertInto('oauth_consents')
          .values({
            tenant_id: record.tenantId,
            id: record.id,
            user_id: record.userId,
            client_id: record.clientId,
            client_name: record.clientName,
            toolset: record.toolset,
            scopes: JSON.stringify(record.scopes),
            created_at: record.createdAt,
          })
          .onConflict((c) =>
            c
              .columns(['tenant_id', 'user_id', 'client_id', 'toolset'])
              .doUpdateSet({ scopes: JSON.stringify(record.scopes), client_name: record.clientName }),
          )
          .execute();
        const row = await db
          .selectFrom('oauth_consents')
          .selectAll()
          .where('tenant_id', '=', record.tenantId)
          .where('user_id', '=', record.userId)
          .where('client_id', '=', record.clientId)
          .where('toolset', '=', record.toolset)
          .executeTakeFirstOrThrow();
        return toConsent(row);
      }),
    findConsent: (tenantId, userId, clientId, toolset) =>
      read('oauthServer.findConsent', tenantId, async (db) => {
        const row = await db
          .selectFrom('oauth_consents')
          .selectAll()
          .where('tenant_id', '=', tenantId)
          .where('user_id', '=', userId)
          .where('client_id', '=', clientId)
          .where('toolset', '=', toolset)
          .executeTakeFirst();
        return row && toConsent(row);
      }),
    listConsents: (tenantId, userId) =>
      read('oauthServer.listConsents', tenantId, async (db) => {
        const rows = await db
          .selectFrom('oauth_consents')
          .selectAll()
          .where('tenant_id', '=', tenantId)
          .where('user_id', '=', userId)
          .orderBy('created_at')
          .execute();
        return rows.map(toConsent);
      }),
    deleteConsent: (tenantId, userId, id) =>
      run('oauthServer.deleteConsent', tenantId, async (db) => {
        const row = await db
          .selectFrom('oauth_consents')
          .selectAll()
          .where('tenant_id', '=', tenantId)
          .where('user_id', '=', userId)
          .where('id', '=', id)
          .executeTakeFirst();
        if (row === undefined) return undefined;
        await db
          .deleteFrom('oauth_consents')
          .where('tenant_id', '=', tenantId)
          .where('user_id', '=', userId)
          .where('id', '=', id)
          .execute();
        return toConsent(row);
      }),
  };
}

function toRecord(row: Selectable<OAuthServerRecordsTable>): OAuthServerRecord {
  return {
    tenantId: row.tenant_id,
    model: row.model,
    idHash: row.id_hash,
    payload: new Uint8Array(row.payload),
    grantId: row.grant_id,
    uidHash: row.uid_hash,
    aud: row.aud,
    accountId: row.account_id,
    clientId: row.client_id,
    expiresAt: row.expires_at === null ? null : Number(row.expires_at),
    consumedAt: row.consumed_at === null ? null : Number(row.consumed_at),
  };
}

function toConsent(row: Selectable<OAuthConsentsTable>): OAuthConsentRecord {
  return {
    tenantId: row.tenant_id,
    id: row.id,
    userId: row.user_id,
    clientId: row.client_id,
    clientName: row.client_name,
    toolset: row.toolset,
    scopes: JSON.parse(row.scopes) as string[],
    createdAt: Number(row.created_at),
  };
}
