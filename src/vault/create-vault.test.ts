import { hkdfSync, randomBytes } from 'node:crypto';
import { inspect } from 'node:util';
import { describe, expect, it } from 'vitest';
import { GatehouseError, systemClock } from '../core/index.ts';
import type { DataKeyRepository } from '../store/index.ts';
import { encodeDataKeyAad } from './_envelope.ts';
import { createMemoryRepositories } from './_memory-repositories.ts';
import { createLocalMasterKeyProvider } from './create-local-master-key-provider.ts';
import { createVault, type VaultScope, type VaultSecurityEvent } from './create-vault.ts';
import type { MasterKeyEntry } from './master-key-provider.ts';

const scope: VaultScope = { tenantId: 'acme', owner: 'service:petstore', field: 'credential' };

/** A master key ring the test can rotate: `add` a version, then `provider.reload()`. */
function createKeyRing(count = 1) {
  const raw = new Map<number, Buffer>();
  const add = (version: number) => raw.set(version, randomBytes(32));
  for (let v = 1; v <= count; v++) add(v);
  const load = (): MasterKeyEntry[] => [...raw].map(([version, key]) => ({ version, key: Buffer.from(key) }));
  return { raw, add, provider: createLocalMasterKeyProvider(load, 'test') };
}

function setup(options: { dataKeys?: DataKeyRepository; ring?: ReturnType<typeof createKeyRing> } = {}) {
  const repositories = createMemoryRepositories();
  const dataKeys = options.dataKeys ?? repositories.dataKeys;
  const ring = options.ring ?? createKeyRing();
  const events: VaultSecurityEvent[] = [];
  const vault = createVault({
    dataKeys,
    masterKeys: ring.provider,
    clock: systemClock,
    onSecurityEvent: (event) => events.push(event),
  });
  return { vault, dataKeys, ring, events, secrets: repositories.secrets };
}

async function codeOf(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
  } catch (error) {
    return error instanceof GatehouseError ? error.code : `not a GatehouseError: ${String(error)}`;
  }
  return 'resolved';
}

describe('createVault()', () => {
  it('round-trips secrets, including empty and non-ASCII ones', async () => {
    const { vault } = setup();
    for (const secret of ['sk_live_abc123', '', 'pässwörd 🔑', 'x'.repeat(10_000)]) {
      expect(await vault.decrypt(scope, await vault.encrypt(scope, secret))).toBe(secret);
    }
  });

  it('writes the documented envelope: magic, format, data key version, nonce, ciphertext, tag', async () => {
    const { vault } = setup();
    const blob = Buffer.from(await vault.encrypt(scope, 'abc'));
    expect(blob.length).toBe(6 + 12 + 3 + 16);
    expect([blob[0], blob[1], blob.readUInt32BE(2)]).toEqual([0x47, 0x01, 1]);
    expect(blob.includes(Buffer.from('abc'))).toBe(false);
  });

  it('uses a fresh nonce for every encryption', async () => {
    const { vault } = setup();
    const blobs = await Promise.all(Array.from({ length: 50 }, () => vault.encrypt(scope, 'same secret')));
    const nonces = new Set(blobs.map((b) => Buffer.from(b).subarray(6, 18).toString('hex')));
    expect(nonces.size).toBe(50);
    expect(new Set(blobs.map((b) => Buffer.from(b).toString('hex'))).size).toBe(50);
  });

  it('ST-03 one flipped bit anywhere in the envelope fails closed with decrypt_failed and a security event', async () => {
    const { vault, events } = setup();
    const blob = Buffer.from(await vault.encrypt(scope, 'tok_12345'));
    const codes = new Set<string>();
    for (let bit = 0; bit < blob.length * 8; bit++) {
      const tampered = Buffer.from(blob);
      tampered[bit >> 3] = (tampered[bit >> 3] as number) ^ (1 << (bit & 7));
      codes.add(await codeOf(vault.decrypt(scope, tampered)));
    }
    expect([...codes]).toEqual(['decrypt_failed']);
    expect(events).toHaveLength(blob.length * 8);
    expect(events[0]).toEqual({ kind: 'decrypt_failed', ...scope, reason: 'malformed' });
    expect(new Set(events.map((e) => e.reason))).toEqual(
      new Set(['malformed', 'unknown_data_key', 'authentication_failed']),
    );
    expect(await vault.decrypt(scope, blob)).toBe('tok_12345');
  });

  it('ST-03 truncated, extended and empty blobs fail closed', async () => {
    const { vault } = setup();
    const blob = Buffer.from(await vault.encrypt(scope, 'tok'));
    for (const bad of [blob.subarray(0, blob.length - 1), Buffer.concat([blob, Buffer.of(0)]), Buffer.alloc(0)]) {
      expect(await codeOf(vault.decrypt(scope, bad))).toBe('decrypt_failed');
    }
  });

  it('ST-04 a blob moved to another tenant, owner or field does not decrypt', async () => {
    const { vault, events } = setup();
    await vault.encrypt({ ...scope, tenantId: 'globex' }, 'warm up globex key');
    const blob = await vault.encrypt(scope, 'acme secret');
    const moves: VaultScope[] = [
      { ...scope, tenantId: 'globex' },
      { ...scope, owner: 'service:other' },
      { ...scope, field: 'refresh_token' },
      // Length prefixes: shifting a character between owner and field is another scope.
      { ...scope, owner: 'service:petstorec', field: 'redential' },
    ];
    for (const moved of moves) expect(await codeOf(vault.decrypt(moved, blob))).toBe('decrypt_failed');
    expect(events.map((e) => e.reason)).toEqual(Array(4).fill('authentication_failed'));
    expect(events[0]).toMatchObject({ tenantId: 'globex' });
  });

  it('ST-04 a stored record copied into another row does not decrypt', async () => {
    const { vault, secrets } = setup();
    const ciphertext = await vault.encrypt(scope, 'tok');
    await secrets.put({ ...scope, ciphertext, updatedAt: 0 });
    const row = await secrets.get(scope.tenantId, scope.owner, scope.field);
    await secrets.put({ ...scope, owner: 'connection:c2', ciphertext: row!.ciphertext, updatedAt: 1 });
    const copied = await secrets.get(scope.tenantId, 'connection:c2', scope.field);
    expect(await codeOf(vault.decrypt({ ...scope, owner: 'connection:c2' }, copied!.ciphertext))).toBe(
      'decrypt_failed',
    );
    expect(await vault.decrypt(scope, row!.ciphertext)).toBe('tok');
  });

  it('gives each tenant its own data key, created once and wrapped (never stored in clear)', async () => {
    const { vault, dataKeys } = setup();
    await Promise.all(Array.from({ length: 20 }, (_, i) => vault.encrypt({ ...scope, tenantId: `t${i % 2}` }, 's')));
    const rows = [...(await dataKeys.list('t0')), ...(await dataKeys.list('t1'))];
    expect(rows.map((r) => [r.tenantId, r.version, r.masterKeyVersion])).toEqual([
      ['t0', 1, 1],
      ['t1', 1, 1],
    ]);
    expect(rows[0]?.wrappedKey.length).toBe(1 + 12 + 32 + 16);
  });

  it('two vaults racing to create a tenant data key end up using the same key', async () => {
    const ring = createKeyRing();
    const { dataKeys } = createMemoryRepositories();
    let lostRaces = 0;
    const counting: DataKeyRepository = {
      ...dataKeys,
      insert: async (record) => {
        const inserted = await dataKeys.insert(record);
        if (!inserted) lostRaces++;
        return inserted;
      },
    };
    const a = setup({ dataKeys: counting, ring }).vault;
    const b = setup({ dataKeys: counting, ring }).vault;
    const [blobA, blobB] = await Promise.all([a.encrypt(scope, 'from a'), b.encrypt(scope, 'from b')]);
    expect(lostRaces).toBe(1);
    expect((await dataKeys.list(scope.tenantId)).length).toBe(1);
    expect(await b.decrypt(scope, blobA)).toBe('from a');
    expect(await a.decrypt(scope, blobB)).toBe('from b');
  });

  it('reads the store once per tenant, then decrypts from the cache', async () => {
    const { dataKeys } = createMemoryRepositories();
    let lists = 0;
    const counting: DataKeyRepository = {
      ...dataKeys,
      list: (t) => {
        lists++;
        return dataKeys.list(t);
      },
    };
    const writer = setup({ dataKeys: counting });
    const blob = await writer.vault.encrypt(scope, 's');
    const reader = setup({ dataKeys: counting, ring: writer.ring }).vault;
    lists = 0;
    await Promise.all(Array.from({ length: 20 }, () => reader.decrypt(scope, blob)));
    for (let i = 0; i < 20; i++) await reader.decrypt(scope, blob);
    expect(lists).toBe(1);
  });

  it('ST-06 master key rotation while calls run: zero failed decrypts, new data keys use the new version', async () => {
    const ring = createKeyRing(1);
    const { vault, dataKeys, events } = setup({ ring });
    const other = setup({ dataKeys, ring }).vault; // a second process with a cold cache
    const existing = await vault.encrypt(scope, 'before rotation');
    let failures = 0;
    let done = false;
    let rotating = false;
    let callsDuringRotation = 0;
    const traffic = (async () => {
      for (let i = 0; !done || i < 50; i++) {
        const tenant = { ...scope, tenantId: `t${i % 7}` };
        try {
          expect(await other.decrypt(scope, existing)).toBe('before rotation');
          expect(await vault.decrypt(tenant, await other.encrypt(tenant, `s${i}`))).toBe(`s${i}`);
          if (rotating) callsDuringRotation++;
        } catch {
          failures++;
        }
        // Cached calls resolve in microtasks only; yield so the rotation below gets to run.
        await new Promise((resolve) => setImmediate(resolve));
      }
    })();
    await new Promise((resolve) => setTimeout(resolve, 5));
    rotating = true;
    ring.add(2);
    ring.provider.reload();
    const report = await vault.rewrapDataKeys(['acme', ...Array.from({ length: 7 }, (_, i) => `t${i}`)]);
    done = true;
    await traffic;
    expect(callsDuringRotation).toBeGreaterThan(0);
    // A process started after the rotation (cold cache) reads the rewrapped keys.
    expect(await setup({ dataKeys, ring }).vault.decrypt(scope, existing)).toBe('before rotation');
    await vault.encrypt({ ...scope, tenantId: 'new-after-rotation' }, 's');
    expect(failures).toBe(0);
    expect(events).toEqual([]);
    expect(report.masterKeyVersion).toBe(2);
    expect((await dataKeys.list('new-after-rotation'))[0]?.masterKeyVersion).toBe(2);
    // A later rewrap run catches keys created by the old version during the first run.
    await vault.rewrapDataKeys(['acme', ...Array.from({ length: 7 }, (_, i) => `t${i}`)]);
    const check = await vault.checkAllOnVersion([
      'acme',
      'new-after-rotation',
      ...Array.from({ length: 7 }, (_, i) => `t${i}`),
    ]);
    expect(check).toMatchObject({ ok: true, masterKeyVersion: 2, checked: 9 });
  });

  it('ST-07 rewrap interrupted after N rows and restarted: every data key ends on the newest version', async () => {
    const ring = createKeyRing(1);
    const { vault, dataKeys } = setup({ ring });
    const tenants = Array.from({ length: 10 }, (_, i) => `tenant-${i}`);
    const blobs = await Promise.all(tenants.map((tenantId) => vault.encrypt({ ...scope, tenantId }, tenantId)));
    ring.add(2);
    ring.provider.reload();
    expect(await vault.checkAllOnVersion(tenants)).toMatchObject({ ok: false, checked: 10 });

    for (const killAfter of [3, 0, 4]) {
      let writes = 0;
      const dying: DataKeyRepository = {
        ...dataKeys,
        rewrap: async (...args) => {
          if (writes++ === killAfter) throw new Error('killed');
          await dataKeys.rewrap(...args);
        },
      };
      const process = setup({ dataKeys: dying, ring }).vault;
      await expect(process.rewrapDataKeys(tenants)).rejects.toThrow('killed');
    }
    const check = await vault.checkAllOnVersion(tenants);
    expect(check.stale.length).toBe(10 - 7);
    expect(check.stale.every((s) => s.masterKeyVersion === 1)).toBe(true);

    const final = await setup({ dataKeys, ring }).vault.rewrapDataKeys(tenants);
    expect(final).toEqual({ masterKeyVersion: 2, rewrapped: 3, alreadyCurrent: 7 });
    expect(await vault.checkAllOnVersion(tenants)).toMatchObject({ ok: true, stale: [] });
    expect(await setup({ dataKeys, ring }).vault.rewrapDataKeys(tenants)).toMatchObject({ rewrapped: 0 });

    // Version 1 retired: a fresh process with only version 2 still decrypts everything.
    const onlyV2 = createLocalMasterKeyProvider(() => [{ version: 2, key: Buffer.from(ring.raw.get(2)!) }], 'v2');
    const fresh = createVault({ dataKeys, masterKeys: onlyV2, clock: systemClock });
    for (const [i, tenantId] of tenants.entries()) {
      expect(await fresh.decrypt({ ...scope, tenantId }, blobs[i]!)).toBe(tenantId);
    }
  });

  it('fails closed when a data key is wrapped by an unknown master key version', async () => {
    const ring = createKeyRing(1);
    const { vault, dataKeys } = setup({ ring });
    const blob = await vault.encrypt(scope, 's');
    const stranger = createKeyRing(1).provider;
    const other = createVault({ dataKeys, masterKeys: stranger, clock: systemClock });
    const events: VaultSecurityEvent[] = [];
    const hooked = createVault({
      dataKeys,
      masterKeys: stranger,
      clock: systemClock,
      onSecurityEvent: (e) => events.push(e),
    });
    expect(await codeOf(other.decrypt(scope, blob))).toBe('decrypt_failed');
    expect(await codeOf(hooked.encrypt(scope, 'x'))).toBe('decrypt_failed');
    expect(events).toEqual([{ kind: 'decrypt_failed', ...scope, reason: 'authentication_failed' }]);
  });

  it('ST-10 destroyTenantKeys makes the tenant’s blobs undecryptable, in this process and any other', async () => {
    const ring = createKeyRing();
    const { vault, dataKeys, events } = setup({ ring });
    const blob = await vault.encrypt(scope, 'doomed');
    const neighbour = await vault.encrypt({ ...scope, tenantId: 'globex' }, 'kept');
    await vault.destroyTenantKeys(scope.tenantId);
    expect(await dataKeys.list(scope.tenantId)).toEqual([]);
    expect(await codeOf(vault.decrypt(scope, blob))).toBe('decrypt_failed');
    expect(await codeOf(setup({ dataKeys, ring }).vault.decrypt(scope, blob))).toBe('decrypt_failed');
    expect(events.at(-1)).toMatchObject({ reason: 'unknown_data_key' });
    // A new key for the tenant (same version number) does not revive old blobs.
    await vault.encrypt(scope, 'new life');
    expect(await codeOf(vault.decrypt(scope, blob))).toBe('decrypt_failed');
    expect(await vault.decrypt({ ...scope, tenantId: 'globex' }, neighbour)).toBe('kept');
  });

  it('reveals no key bytes through util.inspect, JSON or errors', async () => {
    const ring = createKeyRing(1);
    const { vault, dataKeys } = setup({ ring });
    const blob = await vault.encrypt(scope, 'the-secret-value');
    const masterKey = ring.raw.get(1)!;
    const wrapped = Buffer.from((await dataKeys.list(scope.tenantId))[0]!.wrappedKey);
    const dataKey = await ring.provider.unwrap(1, wrapped, encodeDataKeyAad(scope.tenantId, 1, 1));
    let error: unknown;
    try {
      await vault.decrypt({ ...scope, field: 'other' }, blob);
    } catch (caught) {
      error = caught;
    }
    const dumps = [
      inspect(vault, { depth: 10, showHidden: true }),
      JSON.stringify(vault),
      inspect(ring.provider, { depth: 10, showHidden: true }),
      JSON.stringify(ring.provider),
      inspect(error, { depth: 10, showHidden: true }),
      JSON.stringify(error),
    ].join('\n');
    expect(error).toBeInstanceOf(GatehouseError);
    for (const key of [masterKey, dataKey]) {
      for (const encoding of ['hex', 'base64', 'base64url'] as const)
        expect(dumps).not.toContain(key.toString(encoding));
    }
    expect(dumps).not.toContain('the-secret-value');
  });
});

describe('deriveKeys()', () => {
  const purpose = 'gatehouse test purpose v1';
  const bytesOf = (keys: Awaited<ReturnType<ReturnType<typeof setup>['vault']['deriveKeys']>>, version: number) =>
    keys.keys.get(version)?.export().toString('hex');

  it('derives the same key in every vault over the same master keys, another for another purpose', async () => {
    const ring = createKeyRing(2);
    const one = await setup({ ring }).vault.deriveKeys(purpose);
    const two = await setup({ ring }).vault.deriveKeys(purpose);
    const other = await setup({ ring }).vault.deriveKeys('gatehouse other purpose v1');
    expect(one.current).toBe(2);
    expect([...one.keys.keys()]).toEqual([1, 2]);
    expect(bytesOf(one, 2)).toBe(bytesOf(two, 2));
    expect(bytesOf(one, 1)).not.toBe(bytesOf(one, 2));
    expect(bytesOf(other, 2)).not.toBe(bytesOf(one, 2));
    // Neither the master key itself nor anything a fresh key ring gives.
    expect(bytesOf(one, 2)).not.toBe(ring.raw.get(2)?.toString('hex'));
    expect(bytesOf(await setup().vault.deriveKeys(purpose), 1)).not.toBe(bytesOf(one, 1));
  });

  it('is HKDF-SHA256 of the master key with the purpose as info (RFC 5869)', async () => {
    const ring = createKeyRing(1);
    const expected = Buffer.from(hkdfSync('sha256', ring.raw.get(1) as Buffer, Buffer.alloc(0), purpose, 32));
    expect(bytesOf(await setup({ ring }).vault.deriveKeys(purpose), 1)).toBe(expected.toString('hex'));
  });
});
