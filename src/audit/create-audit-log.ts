import { createHmac, createSecretKey, type KeyObject, randomBytes } from 'node:crypto';
import type { Clock } from '../core/index.ts';
import { createId, GatehouseError } from '../core/index.ts';
import type { AuditDecision, AuditRecord, AuditRepository } from '../store/index.ts';
import { auditKeyScope } from './load-audit-checkpoint-key.ts';
import { deriveAuditCheckpointKey, sealAuditAnchor, sealAuditCheckpoint } from './seal-audit-checkpoint.ts';
import { sealAuditRecord } from './seal-audit-record.ts';

/** What the gateway knows about one finished tool call: the record's tool-call fields, keyed by tenant. */
export type ToolCallAuditEntry = Pick<
  AuditRecord,
  | 'requestId'
  | 'toolset'
  | 'clientKey'
  | 'subject'
  | 'tool'
  | 'method'
  | 'pathTemplate'
  | 'decision'
  | 'code'
  | 'upstreamStatus'
  | 'latencyMs'
> & {
  readonly tenant: string;
  /** A safe read answered from the cache (no upstream call): recorded as `detail: cached`. */
  readonly cached?: boolean;
  /**
   * The answer did not match the tool's declared output schema (it was delivered as text): recorded as
   * `detail: output_unmatched` (`cached_output_unmatched` for a cached one).
   */
  readonly outputUnmatched?: boolean;
};

/** What the gateway knows about a non-safe tool call about to reach its upstream (AU-03). */
export type ToolIntentAuditEntry = Omit<
  ToolCallAuditEntry,
  'decision' | 'code' | 'upstreamStatus' | 'latencyMs' | 'cached' | 'outputUnmatched'
>;

/** The closed set of security events. */
export type SecurityEventName =
  | 'decrypt_failed'
  | 'connect'
  | 'refresh_failed'
  | 'approval'
  | 'key_created'
  | 'key_revoked'
  | 'admin_denied'
  | 'approver_denied'
  | 'oauth_state_rejected'
  | 'needs_reauth'
  | 'retention_pruned'
  // A stored tenant configuration changed (issue 14): one record per resource, detail added/changed/removed,
  // target `<kind>:<id>`, subject the actor.
  | 'config_changed'
  // Gatehouse's own authorization server: a refused OAuth request (detail: the OAuth error code), a consent given or
  // revoked, a refresh token reused (its grant revoked).
  | 'oauth_denied'
  | 'oauth_consent'
  | 'oauth_grant_revoked'
  // End users (issue 16): sign-in (allow, or deny with the reason), sign-out, user management, refused forms.
  | 'user_sign_in'
  | 'user_sign_out'
  | 'user_created'
  | 'user_invited'
  | 'user_disabled'
  | 'user_password_set'
  | 'user_request_rejected'
  // Roles and personal API tokens of users (issue 14): subject is who made the change, target what changed.
  | 'role_granted'
  | 'role_revoked'
  | 'api_token_created'
  | 'api_token_revoked';

export interface SecurityEventEntry {
  readonly tenant: string;
  readonly event: SecurityEventName;
  /** `allow` for a change that happened, `deny` for a refusal, `error` for a failure. */
  readonly decision: AuditDecision;
  readonly requestId?: string;
  readonly subject?: string;
  readonly clientKey?: string;
  readonly toolset?: string;
  readonly tool?: string;
  /** Stable error code, when there is one. */
  readonly code?: string;
  /** A short enum-like word, `[a-z0-9_]{1,64}` (e.g. a failure reason); anything else is stored as `invalid`. */
  readonly detail?: string;
  /** Gateway ids the event is about, `[A-Za-z0-9_.:/@-]{1,200}` (e.g. `service:pets/credential`); else `invalid`. */
  readonly target?: string;
  /** From `fingerprintSecret`; never the secret itself. */
  readonly fingerprint?: string;
}

/**
 * The encrypt/decrypt slice of the vault used to keep each tenant's fingerprint key sealed in the store
 * (structurally the `Vault`).
 */
export interface AuditKeySealer {
  encrypt(scope: { tenantId: string; owner: string; field: string }, plaintext: string): Promise<Uint8Array>;
  decrypt(scope: { tenantId: string; owner: string; field: string }, blob: Uint8Array): Promise<string>;
}

export interface AuditLogOptions {
  readonly repository: AuditRepository;
  readonly clock: Clock;
  /** Seals the per-tenant fingerprint keys; without it keys are random per process (tests only). */
  readonly keys?: AuditKeySealer;
  /** Tenants whose fingerprint keys are loaded at start (one vault decrypt each, never per request). */
  readonly tenants: readonly string[];
  /** Asked when a tenant's stored audit key does not open: a purged tenant's id is refused with why (`TenantRepository.isPurged`). */
  readonly isPurged?: (tenantId: string) => Promise<boolean>;
  /** Retention in days; undefined keeps everything. Pruning runs at start and hourly. */
  readonly retentionDays?: number;
  /** Most records in one transaction (default 256). */
  readonly maxBatch?: number;
  /**
   * Signed checkpoints of each tenant's chain (only with `keys`: the MAC key is unsealed by the vault): one after
   * at least this many records written by this process since its last one (default 1,000), ...
   */
  readonly checkpointEvery?: number;
  /** ... one at most this long after a record not yet covered was written (default 10,000 ms), and one at close. */
  readonly checkpointIntervalMs?: number;
  /** Called when background work (security events from sync hooks, retention) fails. */
  readonly onError?: (error: unknown) => void;
}

export interface AuditLog {
  /**
   * Appends the one outcome record of a tool call (AU-01). Resolves when the record is committed (its batch's
   * transaction); rejects with `audit_unavailable` when the store refuses it. With `answerFirst` the caller
   * answers before the commit: the record then always joins the batch of the next turn, so it is never written
   * in the same turn ahead of the answer (without it, a record reaching an idle log is written at once).
   */
  recordToolCall(entry: ToolCallAuditEntry, options?: { readonly answerFirst?: boolean }): Promise<void>;
  /**
   * True when nothing is queued or being written, and no flush ran this turn: a record appended now is written on
   * its own. The gateway answers a safe call before its record commits only then (`audit.commitBeforeAnswer`).
   */
  isIdle(): boolean;
  /** Appends the intent record of a non-safe call before its upstream request; same promise contract (AU-03). */
  recordToolIntent(entry: ToolIntentAuditEntry): Promise<void>;
  /** Appends a security record; same promise contract. */
  recordSecurityEvent(entry: SecurityEventEntry): Promise<void>;
  /**
   * `fp_` + the first 32 hex digits of HMAC-SHA256(tenant's audit key, secret): equal secrets of one tenant give
   * equal fingerprints, nothing links them across tenants, and without the key a fingerprint cannot be tested
   * against guesses. Throws `internal` for a tenant whose key was not loaded at start.
   */
  fingerprintSecret(tenant: string, secret: string): string;
  /**
   * Loads the keys of a tenant that appeared after the start (issue 14: created through the admin API, in this
   * process or another): its fingerprint key, made and sealed by whichever process comes first and then the same in
   * every process, and the checkpoint key derived from it. A tenant whose keys are loaded is left as it is.
   */
  addTenant(tenant: string): Promise<void>;
  /** Retention: prunes each tenant's records older than `retentionDays` (a chain prefix). Returns records removed. */
  pruneExpired(): Promise<number>;
  /** Resolves when everything queued so far is committed (or failed). */
  flush(): Promise<void>;
  /** Flushes and stops the retention timer. */
  close(): Promise<void>;
}

interface Pending {
  readonly record: AuditRecord;
  readonly resolve: () => void;
  readonly reject: (error: unknown) => void;
}

const keyScope = auditKeyScope;
const toolNamePattern = /^[a-zA-Z0-9_-]{1,64}$/;
const detailPattern = /^[a-z0-9_]{1,64}$/;
const targetPattern = /^[A-Za-z0-9_.:/@-]{1,200}$/;

/** Whether a record's `target` is kept as it is (else it is stored as `invalid`). */
export function isAuditTarget(target: string): boolean {
  return targetPattern.test(target);
}
const dayMs = 86_400_000;
/** Attempts of one batch append, and the pause before the n-th retry (n times this). */
const appendAttempts = 4;
const retryDelayMs = 100;
const retentionEveryMs = 3_600_000;

/**
 * A stored audit key that no data key opens belongs to a purged tenant: the purge destroyed its data keys and kept
 * its audit log (and key) under its id. Serving the id again would chain a new tenant's records onto the old one's
 * and show them to its auditors, so the id is refused, with why, rather than failing on the decryption.
 */
function refusePurged(tenant: string, isPurged: ((tenantId: string) => Promise<boolean>) | undefined) {
  return async (error: unknown): Promise<never> => {
    if ((await isPurged?.(tenant)) === true) {
      throw new GatehouseError(
        'config_invalid',
        `Tenant '${tenant}' was purged: its audit log is kept under this id and its keys were destroyed; give the tenant another id`,
        { tenant, reason: 'tenant_purged' },
      );
    }
    throw error;
  };
}

/**
 * The only writer of audit records. Records have a closed schema: ids, names, codes and numbers, never
 * arguments, bodies or credentials.
 *
 * Writes are batched: a record reaching an idle log is flushed at once (no wait for the next turn: the latency of
 * a lone call); records queued during a flush, or in the same turn after one, are flushed together on the next turn
 * of the event loop (or as soon as `maxBatch` are queued), one transaction per tenant per flush, one flush at a
 * time. Each promise settles with its batch, so an awaited record is durable. The queue order
 * is the chain order.
 */
export async function createAuditLog(options: AuditLogOptions): Promise<AuditLog> {
  const { repository, clock } = options;
  const maxBatch = options.maxBatch ?? 256;
  const checkpointEvery = options.checkpointEvery ?? 1_000;
  const fingerprintKeys = new Map<string, KeyObject>();
  const checkpointKeys = new Map<string, KeyObject>();
  for (const tenant of options.tenants) fingerprintKeys.set(tenant, await loadFingerprintKey(tenant));
  // The newest (seq, hash) this process appended per tenant, and how many of its records no checkpoint covers yet.
  const uncovered = new Map<string, { seq: number; hash: string; count: number }>();

  let queue: Pending[] = [];
  let scheduled = false;
  let flushing: Promise<void> | undefined;
  // True from the end of a flush until the next check phase: a record arriving then waits for that turn's batch.
  let recentlyFlushed = false;
  const endTurn = () => {
    recentlyFlushed = false;
  };
  const idle: (() => void)[] = [];

  async function loadFingerprintKey(tenant: string): Promise<KeyObject> {
    if (options.keys === undefined) return createSecretKey(randomBytes(32));
    const keys = options.keys;
    // A stored key is opened as it is (the common case, every start after the first): sealing a fresh one first
    // would make the tenant a data key it may not need, and hide a purged tenant's missing ones (`refusePurged`).
    let stored = await repository.readFingerprintKey(tenant);
    if (stored === undefined) {
      const fresh = randomBytes(32);
      const sealed = await keys.encrypt(keyScope(tenant), fresh.toString('base64'));
      fresh.fill(0);
      stored = await repository.ensureFingerprintKey(tenant, sealed, clock.now());
    }
    const raw = Buffer.from(
      await keys.decrypt(keyScope(tenant), stored).catch(refusePurged(tenant, options.isPurged)),
      'base64',
    );
    const checkpointKey = deriveAuditCheckpointKey(raw);
    checkpointKeys.set(tenant, createSecretKey(checkpointKey));
    checkpointKey.fill(0);
    return createSecretKey(raw);
  }

  /**
   * Writes a checkpoint of the newest head this process appended for `tenant`, if records are uncovered: one MAC
   * per checkpoint, never per record. A failure is reported, not thrown: the records are committed either way, and
   * the next checkpoint covers them too (a chain hash commits to everything before it).
   */
  async function checkpoint(tenant: string): Promise<void> {
    const key = checkpointKeys.get(tenant);
    const head = uncovered.get(tenant);
    if (key === undefined || head === undefined) return;
    uncovered.delete(tenant);
    const taken = { seq: head.seq, hash: head.hash, at: clock.now() };
    try {
      await repository.appendCheckpoint(tenant, { ...taken, mac: sealAuditCheckpoint(key, tenant, taken) });
    } catch (error) {
      if (!uncovered.has(tenant)) uncovered.set(tenant, head);
      options.onError?.(error);
    }
  }

  const checkpointAll = () => Promise.all([...uncovered.keys()].map(checkpoint)).then(() => undefined);

  function schedule(): void {
    if (scheduled || flushing !== undefined) return;
    scheduled = true;
    setImmediate(startFlush);
  }

  function startFlush(): void {
    scheduled = false;
    if (queue.length === 0) {
      for (const done of idle.splice(0)) done();
      return;
    }
    const batch = queue;
    queue = [];
    flushing = writeBatch(batch).finally(() => {
      flushing = undefined;
      if (!recentlyFlushed) {
        recentlyFlushed = true;
        setImmediate(endTurn);
      }
      if (queue.length > 0) schedule();
      else for (const done of idle.splice(0)) done();
    });
  }

  /**
   * Appends one batch; when the store fails (a connection lost to a database restart or a killed backend) it tries
   * again, up to `appendAttempts` times, first asking whether the failed attempt committed after all (its reply
   * lost): a batch is stored whole or not at all, so its first record tells. The records of reads answered before
   * their commit would otherwise be lost while the client holds a successful answer (issue 13, fleet faults).
   */
  async function appendWithRetry(tenant: string, records: readonly AuditRecord[]): Promise<readonly AuditRecord[]> {
    const first = records[0] as AuditRecord;
    for (let attempt = 1; ; attempt++) {
      try {
        return await repository.appendBatch(tenant, records, sealAuditRecord);
      } catch (error) {
        if (attempt >= appendAttempts) throw error;
        await new Promise((resolve) => setTimeout(resolve, retryDelayMs * attempt));
        // Committed, reply lost: written, but without the chain positions (no checkpoint bookkeeping for it).
        if (await repository.containsRecord(tenant, first).catch(() => false)) return [];
      }
    }
  }

  async function writeBatch(batch: readonly Pending[]): Promise<void> {
    const byTenant = new Map<string, Pending[]>();
    for (const pending of batch) {
      const list = byTenant.get(pending.record.tenantId);
      if (list === undefined) byTenant.set(pending.record.tenantId, [pending]);
      else list.push(pending);
    }
    await Promise.all(
      [...byTenant].map(async ([tenant, items]) => {
        for (let i = 0; i < items.length; i += maxBatch) {
          const chunk = items.slice(i, i + maxBatch);
          try {
            const appended = await appendWithRetry(
              tenant,
              chunk.map((p) => p.record),
            );
            for (const p of chunk) p.resolve();
            const last = appended[appended.length - 1];
            if (checkpointKeys.has(tenant) && last?.seq != null && last.hash != null) {
              const count = (uncovered.get(tenant)?.count ?? 0) + appended.length;
              uncovered.set(tenant, { seq: last.seq, hash: last.hash, count });
              if (count >= checkpointEvery) await checkpoint(tenant);
            }
          } catch (error) {
            const failure = new GatehouseError(
              'audit_unavailable',
              `Audit records of tenant ${tenant} could not be written`,
              { tenant, count: chunk.length },
              { cause: error },
            );
            for (const p of chunk) p.reject(failure);
          }
        }
      }),
    );
  }

  function append(record: AuditRecord, answerFirst = false): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      queue.push({ record, resolve, reject });
      if (scheduled || flushing !== undefined) return;
      // Idle (no flush this turn): a record someone waits for is written now rather than a turn later. Under load
      // records arriving during a flush, or in the same turn after one, are batched into the next turn's flush.
      if ((!recentlyFlushed && !answerFirst) || queue.length >= maxBatch) startFlush();
      else schedule();
    });
  }

  function toolRecord(
    entry: ToolIntentAuditEntry,
    kind: 'tool_call' | 'tool_intent',
    outcome: Pick<
      ToolCallAuditEntry,
      'decision' | 'code' | 'upstreamStatus' | 'latencyMs' | 'cached' | 'outputUnmatched'
    >,
  ): AuditRecord {
    return {
      tenantId: entry.tenant,
      id: createId(12),
      at: clock.now(),
      requestId: entry.requestId,
      kind,
      event: null,
      toolset: entry.toolset,
      clientKey: entry.clientKey,
      subject: entry.subject,
      // The name comes from the client: anything that cannot be a tool name is not copied into the log.
      tool: toolNamePattern.test(entry.tool) ? entry.tool : '(invalid)',
      method: entry.method,
      pathTemplate: entry.pathTemplate,
      decision: outcome.decision,
      code: outcome.code,
      upstreamStatus: outcome.upstreamStatus,
      latencyMs: Math.round(outcome.latencyMs * 1000) / 1000,
      detail: toolCallDetailOf(outcome.cached === true, outcome.outputUnmatched === true),
      target: null,
      fingerprint: null,
    };
  }

  let retentionTimer: NodeJS.Timeout | undefined;
  let checkpointTimer: NodeJS.Timeout | undefined;
  const log: AuditLog = {
    isIdle: () => queue.length === 0 && flushing === undefined && !scheduled && !recentlyFlushed,
    recordToolCall: (entry, options) => append(toolRecord(entry, 'tool_call', entry), options?.answerFirst === true),
    recordToolIntent: (entry) =>
      append(toolRecord(entry, 'tool_intent', { decision: 'allow', code: null, upstreamStatus: null, latencyMs: 0 })),
    recordSecurityEvent(entry) {
      return append({
        tenantId: entry.tenant,
        id: createId(12),
        at: clock.now(),
        requestId: entry.requestId ?? '',
        kind: 'security',
        event: entry.event,
        toolset: entry.toolset ?? '',
        clientKey: entry.clientKey ?? '',
        subject: entry.subject ?? '',
        tool: entry.tool !== undefined && toolNamePattern.test(entry.tool) ? entry.tool : '',
        method: null,
        pathTemplate: null,
        decision: entry.decision,
        code: entry.code ?? null,
        upstreamStatus: null,
        latencyMs: 0,
        detail: entry.detail === undefined ? null : detailPattern.test(entry.detail) ? entry.detail : 'invalid',
        target: entry.target === undefined ? null : targetPattern.test(entry.target) ? entry.target : 'invalid',
        fingerprint: entry.fingerprint ?? null,
      });
    },
    fingerprintSecret(tenant, secret) {
      const key = fingerprintKeys.get(tenant);
      if (key === undefined) {
        throw new GatehouseError('internal', `No audit fingerprint key loaded for tenant ${tenant}`, { tenant });
      }
      return `fp_${createHmac('sha256', key).update(secret, 'utf8').digest('hex').slice(0, 32)}`;
    },
    async addTenant(tenant) {
      if (fingerprintKeys.has(tenant)) return;
      const key = await loadFingerprintKey(tenant);
      if (!fingerprintKeys.has(tenant)) fingerprintKeys.set(tenant, key);
      startCheckpointTimer();
    },
    async pruneExpired() {
      if (options.retentionDays === undefined) return 0;
      const cutoff = clock.now() - options.retentionDays * dayMs;
      let removed = 0;
      for (const tenant of [...fingerprintKeys.keys()]) {
        const [last] = await repository.query({ tenantId: tenant, until: cutoff, order: 'desc', limit: 1 });
        if (last?.seq == null || last.hash == null) continue;
        // The new anchor is signed (issue 17 review): a database writer can move an anchor, not sign one, and
        // `audit verify` refuses an unsigned anchor. Without keys (tests only) it stays unsigned.
        const key = checkpointKeys.get(tenant);
        const anchor = { seq: last.seq, hash: last.hash };
        const count = await repository.prune(tenant, {
          ...anchor,
          mac: key === undefined ? null : sealAuditAnchor(key, tenant, anchor),
        });
        if (count === 0) continue;
        removed += count;
        await log.recordSecurityEvent({
          tenant,
          event: 'retention_pruned',
          decision: 'allow',
          detail: 'retention',
          target: `through_seq:${last.seq}`,
        });
      }
      return removed;
    },
    flush() {
      if (queue.length === 0 && flushing === undefined && !scheduled) return Promise.resolve();
      return new Promise<void>((resolve) => idle.push(resolve));
    },
    async close() {
      if (retentionTimer !== undefined) clearInterval(retentionTimer);
      if (checkpointTimer !== undefined) clearInterval(checkpointTimer);
      await log.flush();
      await checkpointAll();
    },
  };

  function startCheckpointTimer(): void {
    if (checkpointTimer !== undefined || checkpointKeys.size === 0) return;
    checkpointTimer = setInterval(() => void checkpointAll(), options.checkpointIntervalMs ?? 10_000);
    checkpointTimer.unref();
  }
  startCheckpointTimer();
  if (options.retentionDays !== undefined) {
    const prune = () => void log.pruneExpired().catch((error: unknown) => options.onError?.(error));
    prune();
    retentionTimer = setInterval(prune, retentionEveryMs);
    retentionTimer.unref();
  }
  return log;
}

/** The `detail` of a tool-call record: how it was answered, when that is not the plain way. */
function toolCallDetailOf(cached: boolean, outputUnmatched: boolean): string | null {
  if (outputUnmatched) return cached ? 'cached_output_unmatched' : 'output_unmatched';
  return cached ? 'cached' : null;
}
