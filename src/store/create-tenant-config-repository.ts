import type { Kysely } from 'kysely';
import { RevisionConflictError } from '../core/index.ts';
import type { TenantConfigChange, TenantConfigRepository } from './port.ts';
import { allTenants, type StoreContext } from './store-context.ts';
import type { StoreDatabase } from './store-database.ts';

/**
 * How a dialect tells other processes that a tenant's configuration changed: `notify` runs inside the writing
 * transaction (so it is sent on commit, never for a write that rolled back), `listen` waits for such notices.
 */
export interface TenantConfigNotifier {
  notify(trx: Kysely<StoreDatabase>, tenantId: string): Promise<void>;
  listen(listener: (tenantId: string) => void): Promise<() => Promise<void>>;
}

/** SQLite: no notices; readers poll `list` (a few microseconds on an indexed table of tenants). */
const silentNotifier: TenantConfigNotifier = {
  notify: async () => {},
  listen: async () => async () => {},
};

export function createTenantConfigRepository(
  { read, transaction }: StoreContext,
  notifier: TenantConfigNotifier = silentNotifier,
): TenantConfigRepository {
  const currentRevision = async (q: Kysely<StoreDatabase>, tenantId: string) =>
    (await q.selectFrom('tenant_configs').select('revision').where('tenant_id', '=', tenantId).executeTakeFirst())
      ?.revision ?? null;

  const recordRevision = (
    trx: Kysely<StoreDatabase>,
    tenantId: string,
    revision: number,
    document: string | null,
    change: TenantConfigChange,
  ) =>
    trx
      .insertInto('tenant_config_revisions')
      .values({
        tenant_id: tenantId,
        revision,
        document,
        actor: change.actor,
        summary: change.summary.slice(0, 1_000),
        created_at: change.at,
      })
      .execute();

  return {
    read: (tenantId) =>
      read('tenantConfigs.read', tenantId, async (db) => {
        const row = await db
          .selectFrom('tenant_configs')
          .selectAll()
          .where('tenant_id', '=', tenantId)
          .executeTakeFirst();
        if (row === undefined) return undefined;
        return {
          tenantId: row.tenant_id,
          revision: Number(row.revision),
          document: JSON.parse(row.document) as Record<string, unknown>,
          updatedAt: Number(row.updated_at),
          updatedBy: row.updated_by,
        };
      }),

    list: () =>
      read('tenantConfigs.list', allTenants, async (db) => {
        const rows = await db
          .selectFrom('tenant_configs')
          .select(['tenant_id', 'revision'])
          .orderBy('tenant_id')
          .execute();
        return rows.map((r) => ({ tenantId: r.tenant_id, revision: Number(r.revision) }));
      }),

    write: (tenantId, document, change) =>
      transaction('tenantConfigs.write', tenantId, async (trx) => {
        const text = JSON.stringify(document);
        let revision: number;
        if (change.expectedRevision === null) {
          // A tenant deleted and created again continues its revision numbers (its history stays one sequence).
          const last = await trx
            .selectFrom('tenant_config_revisions')
            .select((eb) => eb.fn.max('revision').as('revision'))
            .where('tenant_id', '=', tenantId)
            .executeTakeFirst();
          revision = Number(last?.revision ?? 0) + 1;
          const inserted = await trx
            .insertInto('tenant_configs')
            .values({
              tenant_id: tenantId,
              revision,
              document: text,
              updated_at: change.at,
              updated_by: change.actor,
            })
            .onConflict((c) => c.column('tenant_id').doNothing())
            .executeTakeFirst();
          if (Number(inserted.numInsertedOrUpdatedRows ?? 0) === 0) {
            throw new RevisionConflictError(tenantId, null, await currentRevision(trx, tenantId));
          }
        } else {
          // Compare-and-set in one statement: of two writers that read the same revision, one updates the row.
          const updated = await trx
            .updateTable('tenant_configs')
            .set({
              revision: change.expectedRevision + 1,
              document: text,
              updated_at: change.at,
              updated_by: change.actor,
            })
            .where('tenant_id', '=', tenantId)
            .where('revision', '=', change.expectedRevision)
            .executeTakeFirst();
          if (Number(updated.numUpdatedRows) === 0) {
            throw new RevisionConflictError(tenantId, change.expectedRevision, await currentRevision(trx, tenantId));
          }
          revision = change.expectedRevision + 1;
        }
        await recordRevision(trx, tenantId, revision, text, change);
        await notifier.notify(trx, tenantId);
        return { revision };
      }),

    delete: (tenantId, change) =>
      transaction('tenantConfigs.delete', tenantId, async (trx) => {
        const expected = change.expectedRevision;
        const deleted =
          expected === null
            ? undefined
            : await trx
                .deleteFrom('tenant_configs')
                .where('tenant_id', '=', tenantId)
                .where('revision', '=', expected)
                .executeTakeFirst();
        if (expected === null || Number(deleted?.numDeletedRows ?? 0) === 0) {
          throw new RevisionConflictError(tenantId, expected, await currentRevision(trx, tenantId));
        }
        await recordRevision(trx, tenantId, expected + 1, null, change);
        await notifier.notify(trx, tenantId);
      }),

    history: (tenantId, limit = 100) =>
      read('tenantConfigs.history', tenantId, async (db) => {
        const rows = await db
          .selectFrom('tenant_config_revisions')
          .select(['revision', 'actor', 'summary', 'created_at', 'document'])
          .where('tenant_id', '=', tenantId)
          .orderBy('revision', 'desc')
          .limit(limit)
          .execute();
        return rows.map((r) => ({
          revision: Number(r.revision),
          actor: r.actor,
          summary: r.summary,
          at: Number(r.created_at),
          deleted: r.document === null,
        }));
      }),

    lastWrittenBy: (tenantId, actors) =>
      read('tenantConfigs.lastWrittenBy', tenantId, async (db) => {
        if (actors.length === 0) return undefined;
        const row = await db
          .selectFrom('tenant_config_revisions')
          .select('document')
          .where('tenant_id', '=', tenantId)
          .where('actor', 'in', [...actors])
          .orderBy('revision', 'desc')
          .limit(1)
          .executeTakeFirst();
        return row?.document == null ? undefined : (JSON.parse(row.document) as Record<string, unknown>);
      }),

    subscribe: (listener) => notifier.listen(listener),
  };
}
