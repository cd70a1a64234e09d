export { createTestSchemaName } from './create-test-schema-name.ts';
export { migrateWithOwner } from './migrate-with-owner.ts';
export { type OpenStoreOptions, openStore } from './open-store.ts';
export { parseStoreUrl, type StoreLocation } from './parse-store-url.ts';
export type {
  ApprovalBinding,
  ApprovalRecord,
  ApprovalRepository,
  ApprovalStatus,
  AuditAnchor,
  AuditChainHead,
  AuditCheckpoint,
  AuditDecision,
  AuditKind,
  AuditQuery,
  AuditRecord,
  AuditRepository,
  AuditSeal,
  ClientKeyRecord,
  ClientKeyRepository,
  ConnectFlowRepository,
  ConnectionRecord,
  ConnectionRepository,
  ConnectionStatus,
  ConnectLinkRecord,
  DataKeyRecord,
  DataKeyRepository,
  LockedConnection,
  MigrateOptions,
  MigrationOutcome,
  OAuthConsentRecord,
  OAuthServerRecord,
  OAuthServerRepository,
  PendingAuthorizationRecord,
  RefreshLockOptions,
  SecretRecord,
  SecretRepository,
  Store,
  StoreInspection,
  TenantConfigChange,
  TenantConfigRecord,
  TenantConfigRepository,
  TenantRepository,
  TokenUpdate,
  UsageRepository,
  UsageRow,
  UserRecord,
  UserRepository,
  UserSessionRecord,
  UserSessionRepository,
  UserStatus,
} from './port.ts';
export { redactStoreUrl } from './redact-store-url.ts';
export { createRedisCacheBackend } from './redis/create-redis-cache-backend.ts';
export { createRedisLimiter } from './redis/create-redis-limiter.ts';
export { openRedis } from './redis/open-redis.ts';
export type {
  CacheBackend,
  CacheLookup,
  ConcurrencyLimitRule,
  LimitAdmission,
  LimitDecision,
  Limiter,
  LimitRefusal,
  LimitRule,
  RateLimitRule,
} from './shared-state-port.ts';
export { withStoreSchema } from './with-store-schema.ts';
