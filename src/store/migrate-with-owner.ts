import { GatehouseError } from '../core/index.ts';
import { type OpenStoreOptions, openStore } from './open-store.ts';
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
  const owner = await openMigrationStore(storeUrl, ownerUrl);
  try {
    return await owner.migrate({ applicationRole: role.name });
  } finally {
    await owner.close();
  }
}

/**
 * The owner's store (config `migrationStore`) on one connection, in the schema of `storeUrl` unless `ownerUrl`
 * names its own: what `migrateWithOwner` migrates through and `gatehouse doctor` inspects.
 */
export function openMigrationStore(
  storeUrl: string,
  ownerUrl: string,
  options: Pick<OpenStoreOptions, 'connectTimeoutMs'> = {},
): Promise<Store> {
  const served = parseStoreUrl(storeUrl);
  return openStore(ownerUrl, {
    ...options,
    ...(served.dialect === 'postgres' && served.schema !== undefined && !/[?&]schema=/.test(ownerUrl)
      ? { schema: served.schema }
      : {}),
    poolMax: 1,
  });
}
