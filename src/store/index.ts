export type {
  AuditDecision,
  AuditQuery,
  AuditRecord,
  AuditRepository,
  ClientKeyRecord,
  ClientKeyRepository,
  DataKeyRecord,
  DataKeyRepository,
  SecretRecord,
  SecretRepository,
  Store,
  TenantRepository,
} from './port.ts';
