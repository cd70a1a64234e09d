import type { Clock } from '../core/index.ts';
import type { UsageRepository, UsageRow } from '../store/index.ts';
import type { ToolCallAuditEntry } from './create-audit-log.ts';

export interface UsageRollupOptions {
  readonly repository: Pick<UsageRepository, 'add'>;
  readonly clock: Clock;
  /** How often pending counts are written, ms. Default 10,000. */
  readonly flushEveryMs?: number;
  /** Pending rows that trigger an early flush. Default 1,000. */
  readonly maxPendingRows?: number;
  /** Called when a flush fails (the counts are kept and retried with the next flush, up to a cap). */
  readonly onError?: (error: unknown) => void;
}

export interface UsageRollup {
  /** Counts one finished tool call in memory; written with the next batch. Cheap: a Map update. */
  record(entry: ToolCallAuditEntry): void;
  /** Writes the pending counts now (one transaction). */
  flush(): Promise<void>;
  /**
   * Writes the pending counts when the oldest of them was counted at least `maxAgeMs` ago; else writes nothing.
   * For a reader that wants recent counts without a write per read (the console overview): reads then write at
   * most once per `maxAgeMs`, and show this process's counts at most `maxAgeMs` late.
   */
  flushOlderThan(maxAgeMs: number): Promise<void>;
  /** Stops the timer and flushes. */
  close(): Promise<void>;
}

/** Pending rows kept across failed flushes before new keys are dropped (counts on existing keys still add up). */
const maxRetainedRows = 50_000;

const dayMs = 86_400_000;

/**
 * The one tool name every `tool_not_found` call is counted under (usage rows, metrics labels): a caller choosing names
 * cannot add rows or series at will. The audit log keeps the name that was asked for.
 */
export const unknownToolName = '_unknown';

/**
 * Daily usage per tenant, toolset and tool (calls, errors, denials), accumulated in memory and written in
 * batches: one transaction per flush, never one write per call. A failed flush keeps its counts for the next one.
 * The tool of a `tool_not_found` call is counted as `_unknown`, so callers cannot create rows at will.
 */
export function createUsageRollup(options: UsageRollupOptions): UsageRollup {
  const { repository, clock } = options;
  const maxPending = options.maxPendingRows ?? 1_000;
  let pending = new Map<string, { -readonly [K in keyof UsageRow]: UsageRow[K] }>();
  /** When the oldest pending count was recorded (undefined: nothing pending). */
  let pendingSince: number | undefined;
  let flushing: Promise<void> | undefined;

  const flush = async (): Promise<void> => {
    if (flushing) await flushing;
    if (pending.size === 0) return;
    const batch = pending;
    const batchSince = pendingSince;
    pending = new Map();
    pendingSince = undefined;
    flushing = repository
      .add([...batch.values()])
      .catch((error: unknown) => {
        // The kept counts are as old as the batch's oldest.
        if (batchSince !== undefined) pendingSince = Math.min(pendingSince ?? batchSince, batchSince);
        for (const [key, row] of batch) {
          const current = pending.get(key);
          if (current) {
            current.calls += row.calls;
            current.errors += row.errors;
            current.denials += row.denials;
            current.latencyMsTotal = (current.latencyMsTotal ?? 0) + (row.latencyMsTotal ?? 0);
          } else if (pending.size < maxRetainedRows) pending.set(key, row);
        }
        options.onError?.(error);
      })
      .finally(() => {
        flushing = undefined;
      });
    await flushing;
  };

  const timer = setInterval(() => void flush(), options.flushEveryMs ?? 10_000);
  timer.unref();

  // The UTC day of a call, recomputed only when a call falls outside the day last seen (not a Date per call).
  let dayStart = 0;
  let dayEnd = 0;
  let dayText = '';
  const dayOf = (at: number): string => {
    if (at < dayStart || at >= dayEnd) {
      dayStart = at - (at % dayMs);
      dayEnd = dayStart + dayMs;
      dayText = new Date(dayStart).toISOString().slice(0, 10);
    }
    return dayText;
  };

  return {
    record(entry) {
      const now = clock.now();
      const day = dayOf(now);
      const tool = entry.code === 'tool_not_found' ? unknownToolName : entry.tool;
      const key = `${entry.tenant}\u0000${day}\u0000${entry.toolset}\u0000${tool}`;
      let row = pending.get(key);
      if (row === undefined) {
        if (pending.size >= maxRetainedRows) return;
        row = {
          tenantId: entry.tenant,
          day,
          toolset: entry.toolset,
          tool,
          calls: 0,
          errors: 0,
          denials: 0,
          latencyMsTotal: 0,
        };
        pending.set(key, row);
      }
      pendingSince ??= now;
      row.calls++;
      if (entry.decision === 'error') row.errors++;
      if (entry.decision === 'deny') row.denials++;
      row.latencyMsTotal = (row.latencyMsTotal ?? 0) + entry.latencyMs;
      if (pending.size >= maxPending && flushing === undefined) void flush();
    },
    flush,
    async flushOlderThan(maxAgeMs) {
      if (pendingSince !== undefined && clock.now() - pendingSince >= maxAgeMs) await flush();
    },
    async close() {
      clearInterval(timer);
      await flush();
    },
  };
}
