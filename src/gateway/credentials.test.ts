import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Clock, type ServiceAuthConfig, systemClock } from '../core/index.ts';
import { openStore, type Store } from '../store/index.ts';
import { createLocalMasterKeyProvider, createVault, parseMasterKeys, type Vault } from '../vault/index.ts';
import { createCredentials } from './credentials.ts';

const clock: Clock = systemClock;
let store: Store;
let vault: Vault;
let decrypts = 0;

beforeAll(async () => {
  store = await openStore('sqlite::memory:');
  await store.migrate();
  const key = randomBytes(32).toString('hex');
  const real = createVault({
    dataKeys: store.dataKeys,
    masterKeys: createLocalMasterKeyProvider(() => parseMasterKeys(key, 'test'), 'test'),
    clock,
  });
  vault = {
    ...real,
    decrypt(scope, blob) {
      decrypts += 1;
      return real.decrypt(scope, blob);
    },
  };
});
afterAll(() => store.close());

describe('static credentials', () => {
  it('are opened once per stored ciphertext; storing a new secret opens the new one', async () => {
    const credentials = createCredentials(store, vault);
    const first: ServiceAuthConfig = { type: 'apiKey', in: 'header', name: 'X-API-Key', value: 'first-secret-value' };
    await credentials.storeStaticSecret('acme', 'pets', first, clock.now());
    decrypts = 0;

    const a = (await credentials.resolveCredential('acme', 'pets', first)).credential;
    const b = (await credentials.resolveCredential('acme', 'pets', first)).credential;
    expect(a).toEqual({ type: 'apiKey', in: 'header', name: 'X-API-Key', value: 'first-secret-value' });
    expect(b).toBe(a);
    expect(decrypts).toBe(1);

    const second: ServiceAuthConfig = { type: 'bearer', token: 'second-secret-value' };
    await credentials.storeStaticSecret('acme', 'pets', second, clock.now());
    expect((await credentials.resolveCredential('acme', 'pets', second)).credential).toEqual({
      type: 'bearer',
      token: 'second-secret-value',
    });
    expect(decrypts).toBe(2);
  });

  it('a process that did not store the secret reads it from the store and opens it once', async () => {
    const writer = createCredentials(store, vault);
    const auth: ServiceAuthConfig = { type: 'basic', username: 'svc', password: 'basic-secret-value' };
    await writer.storeStaticSecret('acme', 'billing', auth, clock.now());
    const reader = createCredentials(store, vault);
    decrypts = 0;
    for (let i = 0; i < 3; i++) {
      expect((await reader.resolveCredential('acme', 'billing', auth)).credential).toEqual({
        type: 'basic',
        username: 'svc',
        password: 'basic-secret-value',
      });
    }
    expect(decrypts).toBe(1);
  });

  it('a service without a stored secret is credential_unavailable, naming the service only', async () => {
    const credentials = createCredentials(store, vault);
    const auth: ServiceAuthConfig = { type: 'bearer', token: 'never-stored-secret' };
    await expect(credentials.resolveCredential('acme', 'missing', auth)).rejects.toMatchObject({
      code: 'credential_unavailable',
      message: 'No stored credential for service missing',
    });
  });
});
