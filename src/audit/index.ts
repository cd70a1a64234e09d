export { type AuditLog, createAuditLog, type ToolCallAuditEntry } from './create-audit-log.ts';
export { createScrubber, type Scrubber } from './create-scrubber.ts';
