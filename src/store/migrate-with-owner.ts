import { GatehouseError } from '../core/index.ts';
import { openStore } from './open-store.ts';
import { parseStoreUrl } from './parse-store-url.ts';
import type { MigrationOutcome, Store } from './port.ts';

/**
 * Migrates `store` (opened as the gateway's application role) through a second, short-lived connection as the
 * tables' owner (config `migrationStore`), then grants the application role what serving needs. The owner's
 * connection is closed before serving starts: the serving process keeps no DDL rights. The owner URL takes the
 * schema of `storeUrl` unless it names its own.
 */
export async function migrateWithOwner(store: Store, storeUrl: string, ownerUrl: string): Promise<MigrationOutcome> {
  const role = (await store.inspect()).role;
  if (role === undefined) {
    throw new GatehouseError('config_invalid', 'migrationStore applies to PostgreSQL stores only', {
      path: 'migrationStore',
    });
  }
  const served = parseStoreUrl(storeUrl);
  const owner = await openStore(ownerUrl, {
    ...(served.dialect === 'postgres' && served.schema !== undefined && !/[?&]schema=/.test(ownerUrl)
      ? { schema: served.schema }
      : {}),
    poolMax: 1,
  });
  try {
    return await owner.migrate({ applicationRole: role.name });
  } finally {
    await owner.close();
  }
}
