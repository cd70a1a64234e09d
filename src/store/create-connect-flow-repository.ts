import type { Selectable } from 'kysely';
import type { ConnectFlowRepository, ConnectLinkRecord, PendingAuthorizationRecord } from './port.ts';
import { allTenants, type StoreContext } from './store-context.ts';
import type { ConnectLinksTable, OAuthAuthorizationsTable } from './store-database.ts';
import { toBuffer } from './to-buffer.ts';

/**
 * Connect links, pending authorizations and link keys. Single use is one conditional UPDATE
 * (`where used_at is null and expires_at > at`), so across processes exactly one caller wins.
 */
export function createConnectFlowRepository({ run, read }: StoreContext): ConnectFlowRepository {
  return {
    insertLink: (record) =>
      run('connectFlow.insertLink', record.tenantId, async (db) => {
        await db
          .insertInto('connect_links')
          .values({
            tenant_id: record.tenantId,
            id: record.id,
            service: record.service,
            subject: record.subject,
            scopes: JSON.stringify(record.scopes),
            return_to: record.returnTo,
            expires_at: record.expiresAt,
            used_at: record.usedAt,
            created_at: record.createdAt,
          })
          .execute();
      }),
    getLink: (tenantId, id) =>
      read('connectFlow.getLink', tenantId, async (db) => {
        const row = await db
          .selectFrom('connect_links')
          .selectAll()
          .where('tenant_id', '=', tenantId)
          .where('id', '=', id)
          .executeTakeFirst();
        return row && toLinkRecord(row);
      }),
    useLink: (tenantId, id, at) =>
      run('connectFlow.useLink', tenantId, async (db) => {
        const result = await db
          .updateTable('connect_links')
          .set({ used_at: at })
          .where('tenant_id', '=', tenantId)
          .where('id', '=', id)
          .where('used_at', 'is', null)
          .where('expires_at', '>', at)
          .executeTakeFirst();
        return result.numUpdatedRows > 0n;
      }),
    insertAuthorization: (record) =>
      run('connectFlow.insertAuthorization', record.tenantId, async (db) => {
        await db
          .insertInto('oauth_authorizations')
          .values({
            tenant_id: record.tenantId,
            state_hash: record.stateHash,
            link_id: record.linkId,
            service: record.service,
            subject: record.subject,
            scopes: JSON.stringify(record.scopes),
            code_verifier: toBuffer(record.codeVerifier),
            session_hash: record.sessionHash,
            expires_at: record.expiresAt,
            consumed_at: record.consumedAt,
            created_at: record.createdAt,
          })
          .execute();
      }),
    getAuthorization: (tenantId, stateHash) =>
      read('connectFlow.getAuthorization', tenantId, async (db) => {
        const row = await db
          .selectFrom('oauth_authorizations')
          .selectAll()
          .where('tenant_id', '=', tenantId)
          .where('state_hash', '=', stateHash)
          .executeTakeFirst();
        return row && toAuthorizationRecord(row);
      }),
    consumeAuthorization: (tenantId, stateHash, at) =>
      run('connectFlow.consumeAuthorization', tenantId, async (db) => {
        const result = await db
          .updateTable('oauth_authorizations')
          .set({ consumed_at: at })
          .where('tenant_id', '=', tenantId)
          .where('state_hash', '=', stateHash)
          .where('consumed_at', 'is', null)
          .where('expires_at', '>', at)
          .executeTakeFirst();
        return result.numUpdatedRows > 0n;
      }),
    holdSiteChoice: (tenantId, stateHash, sealed, expiresAt) =>
      run('connectFlow.holdSiteChoice', tenantId, async (db) => {
        await db
          .updateTable('oauth_authorizations')
          .set({ site_choice: toBuffer(sealed), expires_at: expiresAt })
          .where('tenant_id', '=', tenantId)
          .where('state_hash', '=', stateHash)
          .where('consumed_at', 'is not', null)
          .execute();
      }),
    takeSiteChoice: (tenantId, stateHash, at) =>
      run('connectFlow.takeSiteChoice', tenantId, async (db) => {
        const result = await db
          .updateTable('oauth_authorizations')
          .set({ site_choice: null })
          .where('tenant_id', '=', tenantId)
          .where('state_hash', '=', stateHash)
          .where('site_choice', 'is not', null)
          .where('expires_at', '>', at)
          .executeTakeFirst();
        return result.numUpdatedRows > 0n;
      }),
    recordFailure: (tenantId, stateHash, failure) =>
      run('connectFlow.recordFailure', tenantId, async (db) => {
        await db
          .updateTable('oauth_authorizations')
          .set({ failure })
          .where('tenant_id', '=', tenantId)
          .where('state_hash', '=', stateHash)
          .execute();
      }),
    ensureLinkKey: (tenantId, sealedKey, at) =>
      read('connectFlow.ensureLinkKey', tenantId, async (db) => {
        await db
          .insertInto('connect_keys')
          .values({ tenant_id: tenantId, sealed_key: toBuffer(sealedKey), created_at: at })
          .onConflict((c) => c.column('tenant_id').doNothing())
          .execute();
        const row = await db
          .selectFrom('connect_keys')
          .select('sealed_key')
          .where('tenant_id', '=', tenantId)
          .executeTakeFirstOrThrow();
        return new Uint8Array(row.sealed_key);
      }),
    deleteExpired: (before) =>
      run('connectFlow.deleteExpired', allTenants, async (db) => {
        const links = await db.deleteFrom('connect_links').where('expires_at', '<', before).executeTakeFirst();
        const authorizations = await db
          .deleteFrom('oauth_authorizations')
          .where('expires_at', '<', before)
          .executeTakeFirst();
        return Number(links.numDeletedRows + authorizations.numDeletedRows);
      }),
  };
}

function toLinkRecord(row: Selectable<ConnectLinksTable>): ConnectLinkRecord {
  return {
    tenantId: row.tenant_id,
    id: row.id,
    service: row.service,
    subject: row.subject,
    scopes: JSON.parse(row.scopes) as string[],
    returnTo: row.return_to,
    expiresAt: Number(row.expires_at),
    usedAt: row.used_at === null ? null : Number(row.used_at),
    createdAt: Number(row.created_at),
  };
}

function toAuthorizationRecord(row: Selectable<OAuthAuthorizationsTable>): PendingAuthorizationRecord {
  return {
    tenantId: row.tenant_id,
    stateHash: row.state_hash,
    linkId: row.link_id,
    service: row.service,
    subject: row.subject,
    scopes: JSON.parse(row.scopes) as string[],
    codeVerifier: new Uint8Array(row.code_verifier),
    sessionHash: row.session_hash,
    expiresAt: Number(row.expires_at),
    consumedAt: row.consumed_at === null ? null : Number(row.consumed_at),
    createdAt: Number(row.created_at),
    siteChoice: row.site_choice === null ? null : new Uint8Array(row.site_choice),
    failure: row.failure,
  };
}
