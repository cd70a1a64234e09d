export { type AuditLog, createAuditLog, type ToolCallAuditEntry } from './create-audit-log.ts';
export {
  createLogger,
  type LogDestination,
  type Logger,
  type LoggerOptions,
  type LogLevel,
  scrubLine,
} from './create-logger.ts';
export { createScrubber, createScrubber, type Scrubber, type Scrubber } from './create-scrubber.ts';
export {
  createSecretRegistry,
  getSecretRegistry,
  registerSecret,
  type SecretRegistry,
  type SecretRegistryOptions,
} from './create-secret-registry.ts';
export { listSecretForms, minimumSecretLength } from './list-secret-forms.ts';
export { type SafeError, toSafeError } from './to-safe-error.ts';
