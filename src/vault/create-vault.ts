import { createSecretKey, type KeyObject, randomBytes } from 'node:crypto';
import { type Clock, GatehouseError } from '../core/index.ts';
import type { DataKeyRecord, DataKeyRepository } from '../store/index.ts';
import { openAesGcm, sealAesGcm } from './_aes-gcm.ts';
import { decodeEnvelope, encodeAad, encodeDataKeyAad, encodeHeader } from './_envelope.ts';
import type { MasterKeyProvider } from './master-key-provider.ts';

/** Where a secret lives. The three values are bound into the ciphertext as associated data (ST-04). */
export interface VaultScope {
  readonly tenantId: string;
  /** What the secret belongs to, e.g. `service:petstore` or `connection:<id>`. */
  readonly owner: string;
  /** Which secret of the owner, e.g. `credential`, `access_token`. */
  readonly field: string;
}

/** Why a decryption failed; non-secret, for audit and operators. */
export type DecryptFailureReason =
  | 'malformed'
  | 'unknown_data_key'
  | 'unknown_master_key'
  | 'authentication_failed'
  | 'tenant_destroyed';

/** Reported for every failed decryption (ST-03), so the gateway can write a security audit record. */
export interface VaultSecurityEvent {
  readonly kind: 'decrypt_failed';
  readonly tenantId: string;
  readonly owner: string;
  readonly field: string;
  readonly reason: DecryptFailureReason;
}

export interface VaultDependencies {
  readonly dataKeys: DataKeyRepository;
  readonly masterKeys: MasterKeyProvider;
  readonly clock: Clock;
  /** Called synchronously on every failed decryption; must not throw (errors are ignored). */
  readonly onSecurityEvent?: (event: VaultSecurityEvent) => void;
}

export interface StaleDataKey {
  readonly tenantId: string;
  readonly dataKeyVersion: number;
  readonly masterKeyVersion: number;
}

export interface MasterKeyCheck {
  /** The master key version every data key should be wrapped with (the provider's current version). */
  readonly masterKeyVersion: number;
  readonly checked: number;
  /** Data keys still wrapped with another version; empty means older versions may be retired. */
  readonly stale: readonly StaleDataKey[];
  readonly ok: boolean;
}

export interface RewrapReport {
  readonly masterKeyVersion: number;
  readonly rewrapped: number;
  readonly alreadyCurrent: number;
}

export interface Vault {
  /**
   * Encrypts `plaintext` with the tenant's current data key (created on first use) into an envelope (format:
   * `_envelope.ts`). Each call uses a fresh random nonce, so equal plaintexts give different blobs.
   */
  encrypt(scope: VaultScope, plaintext: string): Promise<Uint8Array>;
  /**
   * Decrypts an envelope written by `encrypt` for the same scope. Fails closed with `decrypt_failed`
   * (`details.reason`: a `DecryptFailureReason`) on any altered byte, another scope, an unknown or destroyed
   * data key; reports a `VaultSecurityEvent` each time. Store failures pass through (`store_unavailable`).
   */
  decrypt(scope: VaultScope, blob: Uint8Array): Promise<string>;
  /**
   * Re-wraps every data key of these tenants that is not on the current master key version. Idempotent and
   * per row: a run killed at any point leaves each row on its old or its new wrapping, and the next run finishes
   * the job (ST-07). Data keys and secret envelopes themselves are unchanged.
   */
  rewrapDataKeys(tenantIds: Iterable<string>): Promise<RewrapReport>;
  /** Reports the data keys of these tenants not wrapped with the current master key version. Run it (with every
   * tenant) before removing an old master key version. */
  checkAllOnVersion(tenantIds: Iterable<string>): Promise<MasterKeyCheck>;
  /**
   * Unwraps every data key of these tenants with the configured master keys, caching nothing: the data keys that
   * do not unwrap (`gatehouse doctor`: the master key is not the one the store's secrets were written with).
   */
  verifyDataKeys(
    tenantIds: Iterable<string>,
  ): Promise<{ readonly checked: number; readonly failed: readonly StaleDataKey[] }>;
  /**
   * Crypto-shredding (ST-10): deletes every data key of the tenant and forgets the cached ones, so its existing
   * envelopes can never be decrypted again (`decrypt_failed`). A later `encrypt` creates a new data key.
   */
  destroyTenantKeys(tenantId: string): Promise<void>;
  /**
   * Forgets this process's cached data keys of a tenant it no longer serves (issue 14: deleted at run time,
   * perhaps purged by another process): a later use reads the store again, where a purge left none.
   */
  forgetTenantKeys(tenantId: string): void;
  /**
   * Keys for `purpose` (a label with a format version, `gatehouse operator session v1`), one derived from each
   * master key version loaded now (`MasterKeyProvider.deriveKey`), and the current version: every process with the
   * same master keys derives the same ones. Meant to run once at start, never per request; a key made under one
   * version is checked with that version's key, so rotating the master key ends nothing until the old version is
   * removed.
   */
  deriveKeys(purpose: string): Promise<DerivedKeys>;
}

/** Keys derived for one purpose from every loaded master key version (`Vault.deriveKeys`). */
export interface DerivedKeys {
  /** The master key version new signatures use. */
  readonly current: number;
  readonly keys: ReadonlyMap<number, KeyObject>;
}

/** The unwrapped data keys of one tenant, as cached. */
interface TenantKeys {
  readonly current: number;
  readonly keys: ReadonlyMap<number, KeyObject>;
}

/** Thrown inside the vault and turned into `decrypt_failed` plus a security event at the boundary. */
class DecryptFailure extends Error {
  readonly reason: DecryptFailureReason;
  /** Set when the tenant's data key itself did not unwrap: the master key version it was wrapped with. */
  readonly masterKeyVersion: number | undefined;
  constructor(reason: DecryptFailureReason, masterKeyVersion?: number) {
    super(reason);
    this.reason = reason;
    this.masterKeyVersion = masterKeyVersion;
  }
}

/**
 * Envelope encryption (DESIGN.md §5): one random 256-bit data key per tenant, wrapped by the master key provider
 * and stored through the `DataKeyRepository` port; secrets are sealed with AES-256-GCM under the data key.
 * Unwrapped data keys are cached per tenant in `KeyObject`s (native memory, never enumerable, never logged), so
 * after the first use a decryption does no store read and no key derivation (there is no KDF: keys are random).
 * Master key rotation is the provider's business: new data keys are wrapped with `currentVersion()` at the time
 * they are written, cached keys stay valid, `rewrapDataKeys` moves old rows.
 *
 * The cache is per process: `destroyTenantKeys` in one process does not evict another process's cache.
 */
export function createVault(dependencies: VaultDependencies): Vault {
  const { dataKeys, masterKeys, clock, onSecurityEvent } = dependencies;
  const cache = new Map<string, TenantKeys>();
  const loads = new Map<string, Promise<TenantKeys | undefined>>();
  const creations = new Map<string, Promise<TenantKeys>>();
  // Bumped by destroyTenantKeys so that a load that started before it never repopulates the cache.
  const generations = new Map<string, number>();
  const generationOf = (tenantId: string) => generations.get(tenantId) ?? 0;

  async function unwrapRecord(record: DataKeyRecord): Promise<KeyObject> {
    let plain: Buffer;
    try {
      plain = await masterKeys.unwrap(
        record.masterKeyVersion,
        record.wrappedKey,
        encodeDataKeyAad(record.tenantId, record.version, record.masterKeyVersion),
      );
    } catch (error) {
      if (error instanceof GatehouseError && error.code === 'decrypt_failed') {
        throw new DecryptFailure(
          error.details.reason === 'unknown_master_key' ? 'unknown_master_key' : 'authentication_failed',
          record.masterKeyVersion,
        );
      }
      throw error;
    }
    try {
      if (plain.length !== 32) throw new DecryptFailure('authentication_failed', record.masterKeyVersion);
      return createSecretKey(plain);
    } finally {
      plain.fill(0);
    }
  }

  async function readTenant(tenantId: string): Promise<TenantKeys | undefined> {
    const generation = generationOf(tenantId);
    const records = await dataKeys.list(tenantId);
    if (records.length === 0) return undefined;
    const keys = new Map<number, KeyObject>();
    for (const record of records) keys.set(record.version, await unwrapRecord(record));
    const loaded = { current: Math.max(...keys.keys()), keys };
    if (generationOf(tenantId) !== generation) throw new DecryptFailure('tenant_destroyed');
    cache.set(tenantId, loaded);
    return loaded;
  }

  /** Reads a tenant's data keys from the store, once at a time per tenant. */
  function loadTenant(tenantId: string): Promise<TenantKeys | undefined> {
    let pending = loads.get(tenantId);
    if (pending === undefined) {
      const started = readTenant(tenantId).finally(() => {
        if (loads.get(tenantId) === started) loads.delete(tenantId);
      });
      pending = started;
      loads.set(tenantId, started);
    }
    return pending;
  }

  async function createDataKey(tenantId: string): Promise<TenantKeys> {
    const generation = generationOf(tenantId);
    const plain = randomBytes(32);
    try {
      const masterKeyVersion = masterKeys.currentVersion();
      const wrappedKey = await masterKeys.wrap(
        masterKeyVersion,
        plain,
        encodeDataKeyAad(tenantId, 1, masterKeyVersion),
      );
      const inserted = await dataKeys.insert({
        tenantId,
        version: 1,
        masterKeyVersion,
        wrappedKey,
        createdAt: clock.now(),
      });
      if (generationOf(tenantId) !== generation) throw new DecryptFailure('tenant_destroyed');
      if (!inserted) {
        // Another process created the tenant's key first: use theirs.
        const theirs = await loadTenant(tenantId);
        if (theirs === undefined)
          throw new GatehouseError('internal', `Data key of tenant ${tenantId} vanished after a race`);
        return theirs;
      }
      const created = { current: 1, keys: new Map([[1, createSecretKey(plain)]]) };
      cache.set(tenantId, created);
      return created;
    } finally {
      plain.fill(0);
    }
  }

  async function currentKeys(tenantId: string): Promise<TenantKeys> {
    const loaded = cache.get(tenantId) ?? (await loadTenant(tenantId));
    if (loaded !== undefined) return loaded;
    let pending = creations.get(tenantId);
    if (pending === undefined) {
      const started = createDataKey(tenantId).finally(() => {
        if (creations.get(tenantId) === started) creations.delete(tenantId);
      });
      pending = started;
      creations.set(tenantId, started);
    }
    return pending;
  }

  async function keyFor(tenantId: string, version: number): Promise<KeyObject> {
    const key = cache.get(tenantId)?.keys.get(version) ?? (await loadTenant(tenantId))?.keys.get(version);
    if (key === undefined) throw new DecryptFailure('unknown_data_key');
    return key;
  }

  function toDecryptFailed(scope: VaultScope, reason: DecryptFailureReason, masterKeyVersion?: number): GatehouseError {
    const { tenantId, owner, field } = scope;
    try {
      onSecurityEvent?.({ kind: 'decrypt_failed', tenantId, owner, field, reason });
    } catch {
      // The hook must not turn a decryption failure into another error.
    }
    const message = `Cannot decrypt secret ${field} of ${owner} in tenant ${tenantId}`;
    if (masterKeyVersion === undefined) {
      return new GatehouseError('decrypt_failed', message, { tenantId, owner, field, reason });
    }
    // The data key itself did not unwrap: the operator's master key is not the one these secrets were stored
    // with (the first-hour mistake: a new random key on each start). Say so, where the key came from, and the fix.
    const source = masterKeys.source ?? 'the configured master key provider';
    const loaded = masterKeys.versions().join(', ');
    return new GatehouseError(
      'decrypt_failed',
      `${message}: the tenant's data key was wrapped with master key version ${masterKeyVersion}, and the master ` +
        `key from ${source} (version${loaded.includes(',') ? 's' : ''} ${loaded}) ${reason === 'unknown_master_key' ? 'has no such version' : 'does not open it'}. ` +
        'The master key changed or is wrong: start with the key these secrets were stored with (a development ' +
        'key is kept in <dataDir>/master.key). If that key is lost, the stored secrets cannot be recovered; in ' +
        'development, delete the data folder to start over.',
      { tenantId, owner, field, reason, masterKeyVersion, masterKeySource: source },
    );
  }

  async function encrypt(scope: VaultScope, plaintext: string): Promise<Uint8Array> {
    let tenant: TenantKeys;
    try {
      tenant = await currentKeys(scope.tenantId);
    } catch (error) {
      throw error instanceof DecryptFailure ? toDecryptFailed(scope, error.reason, error.masterKeyVersion) : error;
    }
    const key = tenant.keys.get(tenant.current) as KeyObject;
    const header = encodeHeader(tenant.current);
    const { nonce, ciphertext, tag } = sealAesGcm(
      key,
      Buffer.from(plaintext, 'utf8'),
      encodeAad(header, scope.tenantId, scope.owner, scope.field),
    );
    return Buffer.concat([header, nonce, ciphertext, tag]);
  }

  async function decrypt(scope: VaultScope, blob: Uint8Array): Promise<string> {
    const parts = decodeEnvelope(blob);
    if (parts === undefined) throw toDecryptFailed(scope, 'malformed');
    let key: KeyObject;
    try {
      key = await keyFor(scope.tenantId, parts.dataKeyVersion);
    } catch (error) {
      throw error instanceof DecryptFailure ? toDecryptFailed(scope, error.reason, error.masterKeyVersion) : error;
    }
    const aad = encodeAad(parts.header, scope.tenantId, scope.owner, scope.field);
    const plain = openAesGcm(key, parts.nonce, parts.ciphertext, parts.tag, aad);
    if (plain === undefined) throw toDecryptFailed(scope, 'authentication_failed');
    const text = plain.toString('utf8');
    plain.fill(0);
    return text;
  }

  async function rewrapDataKeys(tenantIds: Iterable<string>): Promise<RewrapReport> {
    const target = masterKeys.currentVersion();
    let rewrapped = 0;
    let alreadyCurrent = 0;
    for (const tenantId of tenantIds) {
      for (const record of await dataKeys.list(tenantId)) {
        if (record.masterKeyVersion === target) {
          alreadyCurrent++;
          continue;
        }
        const plain = await masterKeys.unwrap(
          record.masterKeyVersion,
          record.wrappedKey,
          encodeDataKeyAad(tenantId, record.version, record.masterKeyVersion),
        );
        try {
          const wrapped = await masterKeys.wrap(target, plain, encodeDataKeyAad(tenantId, record.version, target));
          await dataKeys.rewrap(tenantId, record.version, target, wrapped);
        } finally {
          plain.fill(0);
        }
        rewrapped++;
      }
    }
    return { masterKeyVersion: target, rewrapped, alreadyCurrent };
  }

  async function checkAllOnVersion(tenantIds: Iterable<string>): Promise<MasterKeyCheck> {
    const target = masterKeys.currentVersion();
    const stale: StaleDataKey[] = [];
    let checked = 0;
    for (const tenantId of tenantIds) {
      for (const record of await dataKeys.list(tenantId)) {
        checked++;
        if (record.masterKeyVersion !== target) {
          stale.push({ tenantId, dataKeyVersion: record.version, masterKeyVersion: record.masterKeyVersion });
        }
      }
    }
    return { masterKeyVersion: target, checked, stale, ok: stale.length === 0 };
  }

  async function verifyDataKeys(tenantIds: Iterable<string>) {
    const failed: StaleDataKey[] = [];
    let checked = 0;
    for (const tenantId of tenantIds) {
      for (const record of await dataKeys.list(tenantId)) {
        checked++;
        try {
          await unwrapRecord(record);
        } catch (error) {
          if (!(error instanceof DecryptFailure)) throw error;
          failed.push({ tenantId, dataKeyVersion: record.version, masterKeyVersion: record.masterKeyVersion });
        }
      }
    }
    return { checked, failed };
  }

  function forgetTenantKeys(tenantId: string): void {
    generations.set(tenantId, generationOf(tenantId) + 1);
    cache.delete(tenantId);
    loads.delete(tenantId);
    creations.delete(tenantId);
  }

  async function destroyTenantKeys(tenantId: string): Promise<void> {
    forgetTenantKeys(tenantId);
    await dataKeys.deleteTenant(tenantId);
    forgetTenantKeys(tenantId);
  }

  async function deriveKeys(purpose: string): Promise<DerivedKeys> {
    const keys = new Map<number, KeyObject>();
    for (const version of masterKeys.versions()) {
      const raw = await masterKeys.deriveKey(version, purpose);
      try {
        keys.set(version, createSecretKey(raw));
      } finally {
        raw.fill(0);
      }
    }
    return { current: masterKeys.currentVersion(), keys };
  }

  return {
    encrypt,
    decrypt,
    rewrapDataKeys,
    checkAllOnVersion,
    verifyDataKeys,
    destroyTenantKeys,
    forgetTenantKeys,
    deriveKeys,
  };
}
