export { continueTrace } from './continue-trace.ts';
export {
  type AdminDenialEvent,
  type AdminDenialRecorderOptions,
  createAdminDenialRecorder,
} from './create-admin-denial-recorder.ts';
export {
  type Alert,
  type AlertEngine,
  type AlertEngineOptions,
  type AlertRule,
  type AlertThresholds,
  createAlertEngine,
} from './create-alert-engine.ts';
export {
  type AuditKeySealer,
  type AuditLog,
  type AuditLogOptions,
  createAuditLog,
  isAuditTarget,
  type SecurityEventEntry,
  type SecurityEventName,
  type ToolCallAuditEntry,
  type ToolIntentAuditEntry,
} from './create-audit-log.ts';
export { createGatewayMetrics, type GatewayMetrics, type RefreshOutcome } from './create-gateway-metrics.ts';
export {
  createLogger,
  type LogDestination,
  type Logger,
  type LoggerOptions,
  type LogLevel,
  scrubLine,
} from './create-logger.ts';
export {
  type Counter,
  createMetricsRegistry,
  type Histogram,
  type MetricLabels,
  type MetricsRegistry,
  type MetricsRegistryOptions,
} from './create-metrics-registry.ts';
export { createScrubber, type Scrubber, scrubJson } from './create-scrubber.ts';
export {
  createSecretRegistry,
  getSecretRegistry,
  registerSecret,
  type SecretRegistry,
  type SecretRegistryOptions,
} from './create-secret-registry.ts';
export { createTelemetry, type Telemetry, type TelemetryLogger, type TelemetryOptions } from './create-telemetry.ts';
export { createTenantRecordCap, type TenantRecordCapOptions } from './create-tenant-record-cap.ts';
export {
  createUsageRollup,
  type UsageRollup,
  type UsageRollupOptions,
  unknownToolName,
} from './create-usage-rollup.ts';
export {
  createWebhookSender,
  signWebhook,
  type WebhookSender,
  type WebhookSenderOptions,
} from './create-webhook-sender.ts';
export { instrumentUpstreamClient, type UpstreamTraceLogger } from './instrument-upstream-client.ts';
export { listSecretForms, minimumSecretLength, redactionMarker } from './list-secret-forms.ts';
export { auditKeyScope, loadAuditCheckpointKey } from './load-audit-checkpoint-key.ts';
export { observeVaultSecrets, type SecretVault } from './observe-vault-secrets.ts';
export { registerConfigSecrets, registerTenantSecrets } from './register-config-secrets.ts';
export {
  deriveAuditCheckpointKey,
  isAuditAnchorAuthentic,
  isAuditCheckpointAuthentic,
  sealAuditAnchor,
  sealAuditCheckpoint,
} from './seal-audit-checkpoint.ts';
export { sealAuditRecord, toCanonicalAuditRecord } from './seal-audit-record.ts';
export { type SafeError, toSafeError } from './to-safe-error.ts';
export {
  type AuditChainProblem,
  type AuditChainReport,
  type VerifyAuditChainOptions,
  verifyAuditChain,
} from './verify-audit-chain.ts';
