import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { SecurityEventEntry } from '../audit/index.ts';
import { type Clock, parseConfig, type TenantConfig } from '../core/index.ts';
import { openStore, type Store } from '../store/index.ts';
import { createClientKeys } from './client-keys.ts';

/** Fast checks of client keys over a real SQLite store in a temp folder, with a manual clock (CP-03). */
let dir: string;
let store: Store;
let now = 1_700_000_000_000;
const clock: Clock = { now: () => now, monotonic: () => now };
const key = 'operator-supplied-key-for-unit-tests-0123456789';

function tenantsWith(keys: readonly { name: string; key: string }[]): readonly TenantConfig[] {
  return parseConfig(
    {
      tenants: [
        {
          id: 'acme',
          toolsets: [{ id: 'reader' }],
          clientKeys: keys.map((k) => ({ ...k, toolsets: ['reader'] })),
        },
      ],
    },
    { env: {}, baseDir: process.cwd() },
  ).tenants;
}

function clientKeysOf(tenants: readonly TenantConfig[], events: SecurityEventEntry[] = []) {
  return createClientKeys({
    store,
    clock,
    tenants,
    cacheMs: 1_000,
    servesToolset: () => true,
    audit: { recordSecurityEvent: async (entry) => void events.push(entry) },
  });
}

beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), 'gatehouse-client-keys-'));
  store = await openStore(`sqlite:${join(dir, 'store.db')}`);
  await store.migrate();
  await store.tenants.ensure('acme', now);
});

afterEach(async () => {
  await store.close();
  rmSync(dir, { recursive: true, force: true });
});

const bearer = `Bearer ${key}`;

describe('createClientKeys()', () => {
  it('CP-03 (review: key cache that never expires) another process refuses a revoked key once its cache lifetime passes', async () => {
    const tenants = tenantsWith([{ name: 'agent', key }]);
    const one = clientKeysOf(tenants);
    const two = clientKeysOf(tenants);
    await one.syncConfigured();
    await expect(one.authenticate('acme', 'reader', bearer)).resolves.toMatchObject({ keyId: 'config-agent' });
    await two.revoke('acme', 'config-agent', 'operator');
    // Within the 1 s window the first process may still trust its cached lookup; after it, never.
    now += 999;
    await expect(one.authenticate('acme', 'reader', bearer)).resolves.toBeDefined();
    now += 1;
    await expect(one.authenticate('acme', 'reader', bearer)).rejects.toMatchObject({ code: 'unauthenticated' });
    await expect(two.authenticate('acme', 'reader', bearer)).rejects.toMatchObject({ code: 'unauthenticated' });
  });

  it('CP-03 (review finding 3) a start keeps a revocation and revokes configured keys no longer configured', async () => {
    const events: SecurityEventEntry[] = [];
    await clientKeysOf(tenantsWith([{ name: 'agent', key }])).syncConfigured();
    await clientKeysOf(tenantsWith([{ name: 'agent', key }])).revoke('acme', 'config-agent', 'operator');
    const other = `${key}-other`;
    const restarted = clientKeysOf(
      tenantsWith([
        { name: 'agent', key },
        { name: 'other', key: other },
      ]),
      events,
    );
    await restarted.syncConfigured();
    await expect(restarted.authenticate('acme', 'reader', bearer)).rejects.toMatchObject({ code: 'unauthenticated' });
    await expect(restarted.authenticate('acme', 'reader', `Bearer ${other}`)).resolves.toBeDefined();
    // A rotated key under the same name is a new key: it works.
    const rotated = clientKeysOf(tenantsWith([{ name: 'agent', key: `${key}-rotated` }]), events);
    await rotated.syncConfigured();
    await expect(rotated.authenticate('acme', 'reader', `Bearer ${key}-rotated`)).resolves.toBeDefined();
    await expect(rotated.authenticate('acme', 'reader', `Bearer ${other}`)).rejects.toMatchObject({
      code: 'unauthenticated',
    });
    expect(events).toEqual([
      expect.objectContaining({
        event: 'key_revoked',
        detail: 'removed_from_config',
        target: 'client_key:config-other',
      }),
    ]);
    // The label of an operator-supplied key holds none of its characters (ST-08).
    const labels = (await rotated.list('acme')).map((k) => k.prefix);
    expect(labels.every((label) => /^sha256:[0-9a-f]{8}$/.test(label))).toBe(true);
  });

  it('CP-03 (review break: rotation then a start with the previous config) a revoked value never comes back, and the rotated one is kept', async () => {
    const rotated = `${key}-rotated`;
    const old = tenantsWith([{ name: 'agent', key }]);
    const next = tenantsWith([{ name: 'agent', key: rotated }]);
    await clientKeysOf(old).syncConfigured();
    await clientKeysOf(old).revoke('acme', 'config-agent', 'operator');
    await clientKeysOf(next).syncConfigured();
    const rolledBack = clientKeysOf(old);
    await rolledBack.syncConfigured();
    await expect(rolledBack.authenticate('acme', 'reader', bearer)).rejects.toMatchObject({ code: 'unauthenticated' });
    await expect(rolledBack.authenticate('acme', 'reader', `Bearer ${rotated}`)).resolves.toMatchObject({
      keyId: 'config-agent',
    });
    const [row] = await rolledBack.list('acme');
    expect(row?.revokedAt).toBeNull();
  });

  it('refuses a configured key whose value another stored key has (a renamed or reused key), naming the place', async () => {
    await clientKeysOf(tenantsWith([{ name: 'agent', key }])).syncConfigured();
    await clientKeysOf(tenantsWith([{ name: 'agent', key }])).revoke('acme', 'config-agent', 'operator');
    const renamed = clientKeysOf(tenantsWith([{ name: 'renamed', key }]));
    const refused = renamed.syncConfigured();
    await expect(refused).rejects.toMatchObject({
      code: 'config_invalid',
      details: { path: 'tenants.acme.clientKeys[0].key' },
    });
    await expect(refused).rejects.not.toThrow(key);
    // The revoked value was not given a new row under the new name.
    await expect(renamed.authenticate('acme', 'reader', bearer)).rejects.toMatchObject({ code: 'unauthenticated' });
  });
});
