export { createTestSchemaName } from './create-test-schema-name.ts';
export { type OpenStoreOptions, openStore } from './open-store.ts';
export { parseStoreUrl, type StoreLocation } from './parse-store-url.ts';
export type {
  ApprovalBinding,
  ApprovalRecord,
  ApprovalRepository,
  ApprovalStatus,
  AuditDecision,
  AuditQuery,
  AuditRecord,
  AuditRepository,
  ClientKeyRecord,
  ClientKeyRepository,
  ConnectionRecord,
  ConnectionRepository,
  ConnectionStatus,
  DataKeyRecord,
  DataKeyRepository,
  LockedConnection,
  RefreshLockOptions,
  SecretRecord,
  SecretRepository,
  Store,
  TenantRepository,
  TokenUpdate,
} from './port.ts';
export { redactStoreUrl } from './redact-store-url.ts';
