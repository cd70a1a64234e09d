import type { AuditLog } from '../audit/index.ts';
import type { Clock, TenantConfig } from '../core/index.ts';
import { GatehouseError } from '../core/index.ts';
import type { ClientKeyRecord, Store } from '../store/index.ts';
import type { Caller, ClientKeySummary } from './contract.ts';
import { hashClientKey, labelClientKey } from './hash-client-key.ts';

export interface ClientKeysOptions {
  readonly store: Store;
  readonly clock: Clock;
  /** The configured tenants; their `clientKeys` are the `config-<name>` rows. */
  readonly tenants: readonly TenantConfig[];
  /** How long a verified key is trusted before it is read again (config `clientKeyCache.ttlSeconds`). */
  readonly cacheMs: number;
  /** Whether the tenant serves this toolset (a removed toolset looks like a missing endpoint). */
  readonly servesToolset: (tenant: string, toolset: string) => boolean;
  readonly audit: Pick<AuditLog, 'recordSecurityEvent'>;
}

export interface ClientKeys {
  /**
   * At start: writes the configured keys (a revoked value stays revoked for good, even after a rotation and a start
   * with the previous config, and then leaves the rotated key in place: see `ClientKeyRepository.upsert`) and
   * revokes every `config-<name>` row whose name is no longer in its tenant's config (issue 17, finding 3). Keys
   * made with `gatehouse keys create` are not in the config and are left alone.
   */
  syncConfigured(): Promise<void>;
  /**
   * The same for one tenant, when its configuration is created or changed at run time (issue 14): its configured
   * keys authenticate and the ones removed from it are refused from then on, in this process at once.
   */
  syncTenant(tenant: TenantConfig): Promise<void>;
  /** The caller of an MCP request: `unauthenticated` without a valid key, `not_found` for another tenant (MT-01). */
  authenticate(tenant: string, toolset: string, authorization: string | undefined): Promise<Caller>;
  list(tenant: string): Promise<readonly ClientKeySummary[]>;
  /**
   * Revokes a key of a tenant (`not_found` when there is no active one) and records `key_revoked` naming `actor`
   * (who revoked it) as the subject.
   */
  revoke(tenant: string, keyId: string, actor: string): Promise<void>;
}

/**
 * One key value names one stored key. A renamed configured key (same value, new name) or a value another key holds
 * would otherwise fail on the store's unique hash with a bare store error, or, worse, give a revoked value a new
 * row: throws `config_invalid` naming the place (`at` + `clientKeys.i.key`), never the key. Run at start, and on
 * a stored configuration's write so that a tenant created or changed at run time is refused before it is stored.
 */
export async function refuseTakenKeys(
  store: Pick<Store, 'clientKeys'>,
  tenant: Pick<TenantConfig, 'id' | 'clientKeys'>,
  at = '',
): Promise<void> {
  await refuseTakenKeysOf(store, [tenant], () => at);
}

/**
 * `refuseTakenKeys` over several tenants at once, as `apply` checks its whole file before writing any tenant: a
 * value two of them hold is refused too. `at(i)` is the path prefix of tenant `i` (`tenants[1].`).
 */
export async function refuseTakenKeysOf(
  store: Pick<Store, 'clientKeys'>,
  tenants: readonly Pick<TenantConfig, 'id' | 'clientKeys'>[],
  at: (index: number) => string,
): Promise<void> {
  // A value written twice in the document (or file) is refused like one a stored key holds.
  const earlier = new Map<string, { tenantId: string; name: string; place: string }>();
  for (const [t, tenant] of tenants.entries()) {
    for (const [i, key] of tenant.clientKeys.entries()) {
      const place = `${at(t)}clientKeys[${i}]`;
      const hash = hashClientKey(key.key);
      const before = earlier.get(hash);
      const stored = before === undefined ? await store.clientKeys.findByHash(hash) : undefined;
      earlier.set(hash, { tenantId: tenant.id, name: key.name, place });
      const holder = before ?? stored;
      if (holder === undefined || (holder.tenantId === tenant.id && holder.name === key.name)) continue;
      const held =
        before === undefined
          ? `the stored key '${stored?.name}'${stored?.revokedAt === null ? '' : ' (revoked)'}`
          : `${before.place} ('${before.name}')`;
      throw new GatehouseError(
        'config_invalid',
        `${place} ('${key.name}') has the same key as ${held}; give it a new key`,
        {
          path: `${place}.key`,
        },
      );
    }
  }
}

/** Id of a key written from the config: the name, so the same configured key keeps its row across starts. */
const configuredIdPrefix = 'config-';

/**
 * Client keys of every tenant: configured ones synchronised at start, lookups behind a short cache, revocation.
 * The cache is what lets one process miss another's revocation, so its lifetime is the window within which a
 * key revoked anywhere is refused here (CP-03); a revocation through this process clears it at once.
 */
export function createClientKeys(options: ClientKeysOptions): ClientKeys {
  const { store, clock, cacheMs, audit } = options;
  const cache = new Map<string, { record: ClientKeyRecord; until: number }>();
  /** How many tenant syncs have ended: a lookup that a sync overtook may have read a row it changed. */
  let synced = 0;

  async function findKey(hash: string): Promise<ClientKeyRecord | undefined> {
    const at = clock.monotonic();
    const cached = cache.get(hash);
    if (cached && cached.until > at) return cached.record;
    const before = synced;
    const record = await store.clientKeys.findByHash(hash);
    if (record === undefined || record.revokedAt !== null) {
      cache.delete(hash);
      return undefined;
    }
    if (cacheMs > 0 && before === synced) {
      if (cache.size > 10_000) cache.clear();
      cache.set(hash, { record, until: at + cacheMs });
    }
    return record;
  }

  /**
   * `key_revoked` records of revocations this process made whose append failed: the revocation is committed, so
   * the sync tried again finds the row revoked already and no process would record it (finding
   * revocation_record_lost_on_audit_failure). Appended before the tenant's next sync does anything else.
   */
  const unrecorded = new Set<Parameters<AuditLog['recordSecurityEvent']>[0]>();
  async function recordRevocation(entry: Parameters<AuditLog['recordSecurityEvent']>[0]): Promise<void> {
    unrecorded.add(entry);
    await audit.recordSecurityEvent(entry);
    unrecorded.delete(entry);
  }

  async function syncTenant(tenant: TenantConfig): Promise<void> {
    try {
      await syncTenantKeys(tenant);
    } finally {
      // Every key of the tenant is read again on its next use. A rotated key (same name, new value) has its old
      // value's row rewritten, possibly by another process already, so the old hash is not known here: kept in the
      // cache it would authenticate until the entry expired (finding rotated_key_served_from_cache). A lookup that
      // read the store before this point caches nothing (`synced`).
      synced++;
      for (const [hash, entry] of cache) if (entry.record.tenantId === tenant.id) cache.delete(hash);
    }
  }

  async function syncTenantKeys(tenant: TenantConfig): Promise<void> {
    for (const entry of [...unrecorded]) if (entry.tenant === tenant.id) await recordRevocation(entry);
    const now = clock.now();
    const configured = new Set<string>();
    await refuseTakenKeys(store, tenant, `tenants.${tenant.id}.`);
    for (const key of tenant.clientKeys) {
      configured.add(key.name);
      const hash = hashClientKey(key.key);
      await store.clientKeys.upsert({
        tenantId: tenant.id,
        id: `${configuredIdPrefix}${key.name}`,
        name: key.name,
        hash,
        prefix: labelClientKey(key.key),
        toolsets: key.toolsets,
        subject: key.subject,
        createdAt: now,
        revokedAt: null,
      });
      // Its toolsets or subject may have changed: read it again on its next use.
      cache.delete(hash);
    }
    for (const row of await store.clientKeys.list(tenant.id)) {
      if (!row.id.startsWith(configuredIdPrefix) || configured.has(row.name)) continue;
      // Refused here at once, whichever process revokes the row (every process syncs the changed tenant).
      cache.delete(row.hash);
      if (row.revokedAt !== null) continue;
      if (await store.clientKeys.revoke(tenant.id, row.id, now)) {
        await recordRevocation({
          tenant: tenant.id,
          event: 'key_revoked',
          decision: 'allow',
          // Who removed it is the subject of the change's config_changed record (this runs in every process).
          clientKey: row.name,
          detail: 'removed_from_config',
          target: `client_key:${row.id}`,
        });
      }
    }
  }

  return {
    async syncConfigured() {
      for (const tenant of options.tenants) await syncTenant(tenant);
    },

    syncTenant,

    async authenticate(tenant, toolset, authorization) {
      const match = /^Bearer[ ]+([^\s]+)[ ]*$/i.exec(authorization ?? '');
      if (!match?.[1])
        throw new GatehouseError('unauthenticated', 'A client key is required (Authorization: Bearer ...)');
      const record = await findKey(hashClientKey(match[1]));
      if (record === undefined) throw new GatehouseError('unauthenticated', 'The client key is not valid');
      // A key of another tenant, a toolset the key may not use, and an endpoint that does not exist all look
      // the same from outside (MT-01).
      if (record.tenantId !== tenant || !record.toolsets.includes(toolset) || !options.servesToolset(tenant, toolset)) {
        throw new GatehouseError('not_found', 'No such MCP endpoint');
      }
      return { tenant, toolset, authMethod: 'key', keyId: record.id, keyName: record.name, subject: record.subject };
    },

    async list(tenant) {
      return (await store.clientKeys.list(tenant)).map((key) => ({
        id: key.id,
        name: key.name,
        prefix: key.prefix,
        toolsets: key.toolsets,
        subject: key.subject,
        createdAt: new Date(key.createdAt).toISOString(),
        revokedAt: key.revokedAt === null ? null : new Date(key.revokedAt).toISOString(),
      }));
    },

    async revoke(tenant, keyId, actor) {
      if (!(await store.clientKeys.revoke(tenant, keyId, clock.now()))) {
        throw new GatehouseError('not_found', `No active client key ${keyId} in tenant ${tenant}`);
      }
      cache.clear();
      // The key itself is long gone (only its hash is stored): the record names it by id, like key_created.
      const revoked = (await store.clientKeys.list(tenant)).find((key) => key.id === keyId);
      await audit.recordSecurityEvent({
        tenant,
        event: 'key_revoked',
        decision: 'allow',
        subject: actor,
        ...(revoked ? { clientKey: revoked.name } : {}),
        detail: 'admin_api',
        target: `client_key:${keyId}`,
      });
    },
  };
}
