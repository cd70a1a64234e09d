import { type AuditLog, createAuditLog } from './audit/index.ts';
import { type Config, formatPath, GatehouseError, systemClock } from './core/index.ts';
import { createRedisRefreshLock } from './oauth/index.ts';
import { createRedisResultStore, resultQuotasOf } from './shaping/index.ts';
import {
  createRedisCacheBackend,
  createRedisLimiter,
  createRedisProcessBus,
  migrateWithOwner,
  openRedis,
  openStore,
  redactStoreUrl,
} from './store/index.ts';
import { createCircuitBreaker, createRetryingUpstream, createUpstreamClient } from './upstream/index.ts';
import { createVault, loadMasterKeys } from './vault/index.ts';
import type { Adapters } from './wiring/index.ts';

/**
 * Picks and opens the concrete adapters for a config: the store named by `store` (migrated), the master keys,
 * the vault over the store, and the pooled upstream client. main.ts and the end-to-end tests use this one
 * function, so tests run the same graph as production.
 */
export async function openAdapters(
  config: Config,
  context: { readonly stderr: NodeJS.WritableStream },
): Promise<Adapters> {
  const warn = (message: string) => context.stderr.write(`gatehouse: warning: ${message}\n`);
  if (config.unsafeAllowPrivateUpstreams.length > 0) {
    warn(
      `private-network upstreams allowed for: ${config.unsafeAllowPrivateUpstreams.join(', ')} (unsafeAllowPrivateUpstreams)`,
    );
  }
  const masterKeys = loadMasterKeys({
    mode: config.mode,
    masterKey: config.masterKey,
    masterKeyFile: config.masterKeyFile,
    dataDir: config.dataDir,
    warn,
  });
  const store = await openStore(config.store, { sqliteNativeBinding: config.sqliteNativeBinding });
  let appliedMigrations: readonly string[] = [];
  try {
    // With migrationStore, the owner role migrates and `store` serves as the non-owner application role.
    const migrated =
      config.migrationStore === undefined
        ? await store.migrate()
        : await migrateWithOwner(store, config.store, config.migrationStore);
    appliedMigrations = migrated.applied;
    if (migrated.newerMigrations.length > 0) {
      warn(
        `the store was migrated by a newer release (${migrated.newerMigrations.join(', ')}); serving on it (expand-only schema, docs/operations.md "Upgrading")`,
      );
    }
  } catch (error) {
    await store.close();
    throw error;
  }
  // ST-03: every failed decryption becomes a security audit record. The vault exists before the audit log (which
  // seals its fingerprint keys with it), so the hook reaches the log through this late-bound variable.
  let audit: AuditLog | undefined;
  const vault = createVault({
    dataKeys: store.dataKeys,
    masterKeys,
    clock: systemClock,
    onSecurityEvent: (event) => {
      void audit
        ?.recordSecurityEvent({
          tenant: event.tenantId,
          event: 'decrypt_failed',
          decision: 'error',
          code: 'decrypt_failed',
          detail: event.reason,
          target: `${event.owner}/${event.field}`,
        })
        .catch(() => warn(`security audit record (decrypt_failed) of tenant ${event.tenantId} could not be written`));
    },
  });
  try {
    audit = await createAuditLog({
      repository: store.audit,
      clock: systemClock,
      keys: vault,
      tenants: config.tenants.map((t) => t.id),
      isPurged: (tenantId) => store.tenants.isPurged(tenantId),
      ...(config.audit.retentionSeconds === undefined ? {} : { retentionDays: config.audit.retentionSeconds / 86_400 }),
      onError: () => warn('audit retention failed; it is retried within the hour'),
    });
  } catch (error) {
    await store.close();
    throw atTenantPath(error, config);
  }
  const auditLog = audit;
  // Shared short-lived state (DESIGN.md §4): with `redis`, rate limits and cached reads span every process.
  let redis: Awaited<ReturnType<typeof openRedis>> | undefined;
  if (config.redis !== undefined) {
    try {
      redis = await openRedis(config.redis);
    } catch {
      await auditLog.close();
      await store.close();
      throw new GatehouseError('store_unavailable', `Cannot connect to Redis at ${redactStoreUrl(config.redis)}`);
    }
  }
  const sharedRedis = redis;
  let processBus: Awaited<ReturnType<typeof createRedisProcessBus>> | undefined;
  if (sharedRedis !== undefined) {
    try {
      processBus = await createRedisProcessBus(sharedRedis);
    } catch {
      sharedRedis.disconnect();
      await auditLog.close();
      await store.close();
      throw new GatehouseError(
        'store_unavailable',
        `Cannot subscribe on Redis at ${redactStoreUrl(config.redis ?? '')}`,
      );
    }
  }
  // 429 Retry-After waits for safe calls, bounded retries for idempotent ones, a circuit breaker per host, tenant
  // and service, and a per-tenant share of each host's connections (MT-08).
  const upstream = createRetryingUpstream(
    createUpstreamClient({
      allowPrivateHosts: config.unsafeAllowPrivateUpstreams,
      connectionsPerOrigin: config.upstreamPool.connectionsPerOrigin,
      connectionsPerTenant: config.upstreamPool.connectionsPerTenant,
    }),
    { clock: systemClock, breaker: createCircuitBreaker({ clock: systemClock }) },
  );
  return {
    store,
    vault,
    upstream,
    appliedMigrations,
    audit: auditLog,
    ...(sharedRedis
      ? {
          limiter: createRedisLimiter(sharedRedis),
          cacheBackend: createRedisCacheBackend(sharedRedis),
          resultStore: createRedisResultStore(sharedRedis, systemClock, resultQuotasOf(config.resultHandles)),
          // RF-10 across processes: a Redis lease per connection; the version-checked commit stays the fence.
          refreshLock: createRedisRefreshLock({
            redis: sharedRedis,
            connections: store.connections,
            clock: systemClock,
          }),
        }
      : {}),
    ...(processBus === undefined ? {} : { processBus }),
    async close() {
      await auditLog.close();
      await upstream.close();
      await store.close();
      await processBus?.close();
      sharedRedis?.disconnect();
    },
  };
}

/** An error about one tenant (`details.tenant`) at start, prefixed with the config path of its id. */
function atTenantPath(error: unknown, config: Config): unknown {
  if (!(error instanceof GatehouseError) || error.code !== 'config_invalid') return error;
  const index = config.tenants.findIndex((tenant) => tenant.id === error.details?.tenant);
  if (index === -1) return error;
  const path = formatPath(['tenants', index, 'id']);
  return new GatehouseError(
    'config_invalid',
    `${path}: ${error.message}`,
    { ...error.details, path },
    { cause: error },
  );
}
