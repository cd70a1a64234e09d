import { describe, expect, it } from 'vitest';
import { parseTenantDocument, type TenantDocument } from '../core/index.ts';
import { openStore } from '../store/index.ts';
import { createTenantConfigs } from './create-tenant-configs.ts';
import { reconcileTenantConfigs, tenantsLeftAtStart } from './reconcile-tenant-configs.ts';

describe('reconcileTenantConfigs', () => {
  it('at start keeps admin changes made since the file was applied; apply (and a changed file) makes the store equal the file', async () => {
    const store = await openStore('sqlite::memory:');
    await store.migrate();
    const tenantConfigs = createTenantConfigs({
      store,
      audit: { recordSecurityEvent: async () => {} },
      clock: { now: () => 1, monotonic: () => 1 },
      parse: (document) => parseTenantDocument(document, { env: {} }),
    });
    const validate = (document: TenantDocument) => void parseTenantDocument(document, { env: {} });
    const file = { id: 'acme', toolsets: [{ id: 'support' }] } as TenantDocument;
    // As a start does: what it leaves as stored is read first (before the gateway is built).
    const atStart = async (documents: TenantDocument[]) => ({
      actor: 'config-file',
      validate,
      onlyChangedSinceFile: { left: await tenantsLeftAtStart(store, documents) },
    });
    await reconcileTenantConfigs(tenantConfigs, [file], await atStart([file]));
    const admin = { id: 'acme', toolsets: [{ id: 'support' }, { id: 'extra' }] } as TenantDocument;
    await tenantConfigs.write('acme', admin, { expectedRevision: 1, actor: 'admin' });
    await tenantConfigs.write('other', { id: 'other' } as TenantDocument, { expectedRevision: null, actor: 'admin' });

    const restart = await reconcileTenantConfigs(tenantConfigs, [file], await atStart([file]));
    expect(restart.changed.size).toBe(0);
    expect((await tenantConfigs.read('acme'))?.config).toEqual(admin);
    expect(await tenantConfigs.read('other')).toBeDefined();

    const edited = { id: 'acme', toolsets: [{ id: 'support', access: 'write' }] } as TenantDocument;
    const changedFile = await reconcileTenantConfigs(tenantConfigs, [edited], await atStart([edited]));
    expect([...changedFile.changed.keys()]).toEqual(['acme']);
    expect((await tenantConfigs.read('acme'))?.config).toEqual(edited);

    const applied = await reconcileTenantConfigs(tenantConfigs, [edited], { actor: 'apply', validate });
    expect([...applied.changed.entries()]).toEqual([['other', [{ kind: 'tenant', id: 'other', change: 'removed' }]]]);
    await store.close();
  });
});
