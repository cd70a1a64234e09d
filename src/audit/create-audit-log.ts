import type { Clock } from '../core/index.ts';
import { createId } from '../core/index.ts';
import type { AuditDecision, AuditRecord, AuditRepository } from '../store/index.ts';

/** What the gateway knows about one finished tool call. */
export interface ToolCallAuditEntry {
  readonly tenant: string;
  readonly requestId: string;
  readonly toolset: string;
  readonly clientKey: string;
  readonly subject: string;
  readonly tool: string;
  readonly method: string | null;
  readonly pathTemplate: string | null;
  readonly decision: AuditDecision;
  readonly code: string | null;
  readonly upstreamStatus: number | null;
  readonly latencyMs: number;
}

export interface AuditLog {
  /** Appends the one audit record of a tool call. Throws when the store refuses it. */
  recordToolCall(entry: ToolCallAuditEntry): Promise<void>;
}

/**
 * The only writer of audit records. Records have a closed schema: ids, names, codes and numbers, never
 * arguments, bodies or credentials.
 */
export function createAuditLog(repository: AuditRepository, clock: Clock): AuditLog {
  return {
    recordToolCall(entry) {
      const record: AuditRecord = {
        tenantId: entry.tenant,
        id: createId(12),
        at: clock.now(),
        requestId: entry.requestId,
        kind: 'tool_call',
        toolset: entry.toolset,
        clientKey: entry.clientKey,
        subject: entry.subject,
        tool: entry.tool.slice(0, 128),
        method: entry.method,
        pathTemplate: entry.pathTemplate,
        decision: entry.decision,
        code: entry.code,
        upstreamStatus: entry.upstreamStatus,
        latencyMs: Math.round(entry.latencyMs * 1000) / 1000,
      };
      return repository.append(record);
    },
  };
}
