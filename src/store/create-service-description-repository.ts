import type { ServiceDescriptionRepository } from './port.ts';
import type { StoreContext } from './store-context.ts';

/** Description texts of services added through the admin API (migration `0030_service_descriptions`). */
export function createServiceDescriptionRepository({ run, read }: StoreContext): ServiceDescriptionRepository {
  return {
    put: (tenantId, description) =>
      run('serviceDescriptions.put', tenantId, async (db) => {
        // Keyed by content: storing the same text again (another service, a retry) keeps the first row.
        await db
          .insertInto('service_descriptions')
          .values({
            tenant_id: tenantId,
            digest: description.digest,
            text: description.text,
            source: description.source,
            created_at: description.at,
            created_by: description.actor,
          })
          .onConflict((c) => c.columns(['tenant_id', 'digest']).doNothing())
          .execute();
      }),

    get: (tenantId, digest) =>
      read('serviceDescriptions.get', tenantId, async (db) => {
        const row = await db
          .selectFrom('service_descriptions')
          .select(['digest', 'text', 'source'])
          .where('tenant_id', '=', tenantId)
          .where('digest', '=', digest)
          .executeTakeFirst();
        return row === undefined ? undefined : { digest: row.digest, text: row.text, source: row.source };
      }),
  };
}
