export {
  type AuditKeySealer,
  type AuditLog,
  type AuditLogOptions,
  createAuditLog,
  type SecurityEventEntry,
  type SecurityEventName,
  type ToolCallAuditEntry,
  type ToolIntentAuditEntry,
} from './create-audit-log.ts';
export {
  createLogger,
  type LogDestination,
  type Logger,
  type LoggerOptions,
  type LogLevel,
  scrubLine,
} from './create-logger.ts';
export { createScrubber, type Scrubber } from './create-scrubber.ts';
export {
  createSecretRegistry,
  getSecretRegistry,
  registerSecret,
  type SecretRegistry,
  type SecretRegistryOptions,
} from './create-secret-registry.ts';
export { listSecretForms, minimumSecretLength } from './list-secret-forms.ts';
export { sealAuditRecord, toCanonicalAuditRecord } from './seal-audit-record.ts';
export { type SafeError, toSafeError } from './to-safe-error.ts';
export { type AuditChainProblem, type AuditChainReport, verifyAuditChain } from './verify-audit-chain.ts';
