import { setTimeout as wait } from 'node:timers/promises';
import { type Clock, createId, GatehouseError } from '../core/index.ts';
import type { ApprovalTaskRecord, ApprovalTaskRepository, ApprovalTaskStatus } from '../store/index.ts';
import type { Vault } from '../vault/index.ts';
import type { Caller, CallOutcome, CallToolOptions } from './contract.ts';
import type { Approvals } from './create-approvals.ts';

/** A task as its client sees it (MCP `Task`): `running` is shown as `working`. */
export interface ApprovalTaskView {
  readonly id: string;
  readonly status: 'working' | 'completed' | 'failed' | 'cancelled';
  /** What the task waits for or how it ended, for the user; carries the approval link when results may. */
  readonly statusMessage: string;
  readonly createdAt: string;
  readonly updatedAt: string;
  /** How long the task is kept, from `createdAt`. */
  readonly ttlMs: number;
  /** How often a client should ask (`tasks/get`). */
  readonly pollIntervalMs: number;
}

export interface ApprovalTasksDependencies {
  readonly repository: ApprovalTaskRepository;
  readonly approvals: Pick<Approvals, 'view' | 'withdraw'>;
  /** Seals each task's outcome with the tenant's data key. */
  readonly vault: Pick<Vault, 'encrypt' | 'decrypt'>;
  readonly clock: Clock;
  /** `Gateway.callTool`: the whole policy runs again when the approved call runs. */
  readonly callTool: (
    caller: Caller,
    name: string,
    args: unknown,
    requestId: string,
    options: CallToolOptions,
  ) => Promise<CallOutcome>;
  /** Writes the one outcome record of a call that never ran (`recordOutcome`, waiting for its commit). */
  readonly recordOutcome: (
    caller: Caller,
    name: string,
    args: unknown,
    requestId: string,
    outcome: CallOutcome,
  ) => Promise<void>;
  /** How long a task is kept (then it is unknown, and deleted): the approval's wait plus the time it stays usable. */
  readonly ttlMs: number;
  /** Between two reads of the store while `result` waits (default 500 ms). */
  readonly pollIntervalMs?: number;
}

export interface ApprovalTasks {
  /**
   * A `tools/call` the client asked to run as a task. The call runs at once; when it needs a person's approval it
   * waits for it in the task (no `approval_required` answer), otherwise the task is created already ended with the
   * call's outcome.
   */
  start(caller: Caller, name: string, args: unknown, requestId: string): Promise<ApprovalTaskView>;
  /**
   * The task now. A task whose approval was decided moves on here, in whichever process is asked first: approved,
   * the call runs once (claimed by one conditional update across processes); denied or expired, it ends with
   * `approval_denied`. `not_found` for an unknown id and for a task of another caller (tenant, toolset, client key,
   * subject), alike.
   */
  get(caller: Caller, id: string): Promise<ApprovalTaskView>;
  /** Waits until the task has ended (or `signal` aborts: `unavailable`), then its call's outcome. */
  result(caller: Caller, id: string, signal?: AbortSignal): Promise<{ task: ApprovalTaskView; outcome: CallOutcome }>;
  /**
   * Cancels a waiting task: its approval request is withdrawn (denied as decided by the client key) and the call
   * ends `approval_denied`. `invalid_request` for a task that has already ended. The agent can deny its own call;
   * nothing here approves one.
   */
  cancel(caller: Caller, id: string): Promise<ApprovalTaskView>;
  /**
   * Takes every tenant's expired tasks (each once across processes) and writes the outcome record of each that never
   * ended, with the request id of the call that created it: `approval_denied` when its approval was denied or
   * expired, else `cancelled` (the client never came back for it). Run every minute by each process. Returns how
   * many tasks it took.
   */
  sweepExpired(): Promise<number>;
}

const defaultPollIntervalMs = 500;
/** A task claimed longer ago than this lost its process (a call ends long before: upstream timeouts are shorter). */
const staleRunMs = 5 * 60_000;
/** Expired tasks one statement of the sweep takes, and how many statements one sweep runs at most. */
const sweepBatch = 200;
const sweepBatches = 10;

/**
 * Tool calls that wait for a person's approval as MCP tasks (issue 14). The approval itself stays out of band
 * (approval page with an approver's sign-in, or the admin API): a task only waits for it. Tasks are rows in the
 * store, so a decision made through one process completes the task in any other.
 */
export function createApprovalTasks(deps: ApprovalTasksDependencies): ApprovalTasks {
  const { repository, approvals, vault, clock } = deps;
  const pollIntervalMs = deps.pollIntervalMs ?? defaultPollIntervalMs;
  const scopeOf = (record: ApprovalTaskRecord) => ({
    tenantId: record.tenantId,
    owner: `approval-task:${record.id}`,
    field: 'outcome',
  });

  async function sealOutcome(record: ApprovalTaskRecord, outcome: CallOutcome): Promise<Uint8Array> {
    return vault.encrypt(scopeOf(record), JSON.stringify(toStoredOutcome(outcome)));
  }

  async function outcomeOf(record: ApprovalTaskRecord): Promise<CallOutcome> {
    if (record.sealedOutcome === null) throw new Error(`approval task ${record.id} ended without an outcome`);
    return fromStoredOutcome(JSON.parse(await vault.decrypt(scopeOf(record), record.sealedOutcome)) as StoredOutcome);
  }

  /** The caller's own task, or one `not_found` for every other case (unknown id, another key or subject). */
  async function ownTask(caller: Caller, id: string): Promise<ApprovalTaskRecord> {
    const record = await repository.get(caller.tenant, id);
    if (
      record === undefined ||
      record.expiresAt <= clock.now() ||
      record.toolset !== caller.toolset ||
      record.clientKeyId !== caller.keyId ||
      record.subject !== caller.subject
    ) {
      throw new GatehouseError('not_found', 'No such task', { taskId: id });
    }
    return record;
  }

  /** `outcome`: the ended task's outcome when the caller has it already (else it is unsealed here). */
  async function viewOf(record: ApprovalTaskRecord, outcome?: CallOutcome): Promise<ApprovalTaskView> {
    let statusMessage: string;
    if (record.status === 'working' || record.status === 'running') {
      statusMessage = waitingMessage(record);
    } else {
      const known = outcome ?? (await outcomeOf(record));
      statusMessage = known.ok ? `The call of ${record.tool} ran.` : known.error.message;
    }
    return {
      id: record.id,
      status: record.status === 'running' ? 'working' : record.status,
      statusMessage,
      createdAt: new Date(record.createdAt).toISOString(),
      updatedAt: new Date(record.updatedAt).toISOString(),
      ttlMs: record.expiresAt - record.createdAt,
      pollIntervalMs,
    };
  }

  function waitingMessage(record: ApprovalTaskRecord): string {
    if (record.status === 'running') return `Approved; the call of ${record.tool} is running.`;
    return `Waiting for a person to approve this call of ${record.tool} (approval ${record.approvalId}).`;
  }

  /** Ends a claimed (`running`) task with the call's outcome; a call that needs a newer approval waits again. */
  async function finish(record: ApprovalTaskRecord, outcome: CallOutcome, cancelled = false): Promise<void> {
    const at = clock.now();
    if (!outcome.ok && outcome.error.code === 'approval_required') {
      // The approval was used by another call of the same arguments (or a newer request replaced it): wait again.
      const approvalId = String(outcome.error.details['approvalId']);
      await repository.transition(record.tenantId, record.id, 'running', { status: 'working', at, approvalId });
      return;
    }
    const status: ApprovalTaskStatus = cancelled
      ? 'cancelled'
      : outcome.ok && outcome.isError !== true
        ? 'completed'
        : 'failed';
    await repository.transition(record.tenantId, record.id, 'running', {
      status,
      at,
      sealedOutcome: await sealOutcome(record, outcome),
    });
  }

  /** Moves a waiting task on when its approval was decided or expired; one process wins the claim and runs it. */
  async function advance(caller: Caller, given: ApprovalTaskRecord): Promise<ApprovalTaskRecord> {
    let record = given;
    if (record.status === 'running' && clock.now() - record.updatedAt > staleRunMs) {
      // The process that claimed it died before the end. Safe to take up again: the approval it ran on is consumed,
      // so the call runs again only after a new approval (the task then waits for that one).
      if (await repository.transition(record.tenantId, record.id, 'running', { status: 'working', at: clock.now() })) {
        record = { ...record, status: 'working' };
      }
    }
    if (record.status !== 'working') return record;
    const approval = await approvals.view(record.tenantId, record.approvalId);
    if (approval.status === 'pending') return record;
    if (!(await repository.transition(record.tenantId, record.id, 'working', { status: 'running', at: clock.now() }))) {
      return (await repository.get(record.tenantId, record.id)) ?? record;
    }
    const args = JSON.parse(record.argsJson) as unknown;
    let options: CallToolOptions = { awaitsApproval: true };
    if (approval.status === 'denied') {
      options = { endWith: ended('denied', record.tool, approval.id) };
    } else if (approval.status === 'expired') {
      options = { endWith: ended('expired', record.tool, approval.id) };
    }
    // `approved` runs the call (admission consumes the approval, once); `consumed` by another call asks anew.
    await finish(record, await deps.callTool(caller, record.tool, args, record.requestId, options));
    return (await repository.get(record.tenantId, record.id)) ?? record;
  }

  return {
    async start(caller, name, args, requestId) {
      const outcome = await deps.callTool(caller, name, args, requestId, { awaitsApproval: true });
      if (!outcome.ok && outcome.error.code === 'tool_not_found') throw outcome.error;
      const now = clock.now();
      const waits = !outcome.ok && outcome.error.code === 'approval_required';
      const base: ApprovalTaskRecord = {
        tenantId: caller.tenant,
        id: createId(24),
        toolset: caller.toolset,
        clientKeyId: caller.keyId,
        subject: caller.subject,
        tool: name,
        argsJson: JSON.stringify(args ?? {}),
        requestId,
        approvalId: waits ? String(outcome.error.details['approvalId']) : '',
        status: 'running',
        sealedOutcome: null,
        createdAt: now,
        updatedAt: now,
        expiresAt: now + deps.ttlMs,
      };
      let record = base;
      if (waits) {
        record = { ...base, status: 'working' };
      } else {
        const status = outcome.ok && outcome.isError !== true ? 'completed' : 'failed';
        record = { ...base, status, sealedOutcome: await sealOutcome(base, outcome) };
      }
      await repository.insert(record);
      const view = await viewOf(record, outcome);
      if (!waits) return view;
      const url = outcome.error.details['approvalUrl'];
      return typeof url === 'string'
        ? { ...view, statusMessage: `${view.statusMessage} Ask the user to open ${url} (an approver signs in there).` }
        : view;
    },

    async get(caller, id) {
      return viewOf(await advance(caller, await ownTask(caller, id)));
    },

    async result(caller, id, signal) {
      for (;;) {
        const record = await advance(caller, await ownTask(caller, id));
        if (record.status !== 'working' && record.status !== 'running') {
          const outcome = await outcomeOf(record);
          return { task: await viewOf(record, outcome), outcome };
        }
        try {
          await wait(pollIntervalMs, undefined, signal === undefined ? {} : { signal });
        } catch {
          throw new GatehouseError('internal', 'The client stopped waiting for the task');
        }
      }
    },

    async cancel(caller, id) {
      let record = await ownTask(caller, id);
      if (record.status === 'working') {
        // Withdrawing fails when a person decided first; the task is cancelled all the same, and the approval is
        // left to expire unused by this task.
        await approvals.withdraw(caller, record.approvalId);
        if (await repository.transition(caller.tenant, id, 'working', { status: 'running', at: clock.now() })) {
          const error = ended('cancelled', record.tool, record.approvalId);
          const args = JSON.parse(record.argsJson) as unknown;
          await finish(
            record,
            await deps.callTool(caller, record.tool, args, record.requestId, { endWith: error }),
            true,
          );
        }
        record = (await repository.get(caller.tenant, id)) ?? record;
        if (record.status === 'cancelled') return viewOf(record);
      }
      throw new GatehouseError(
        'invalid_request',
        `Task ${id} cannot be cancelled: it has already ended or is running`,
        {
          taskId: id,
        },
      );
    },

    async sweepExpired() {
      let taken = 0;
      for (let batch = 0; batch < sweepBatches; batch++) {
        const now = clock.now();
        const expired = await repository.takeExpired(now, now - staleRunMs, sweepBatch);
        taken += expired.length;
        for (const record of expired) {
          // An ended task's call has its record already; a running one's process died (its claim is stale).
          if (record.status !== 'working' && record.status !== 'running') continue;
          const { keyName, outcome } = await abandonedOutcome(approvals, record);
          const args = JSON.parse(record.argsJson) as unknown;
          await deps.recordOutcome(callerOf(record, keyName), record.tool, args, record.requestId, outcome);
        }
        if (expired.length < sweepBatch) break;
      }
      return taken;
    },
  };
}

/**
 * The outcome of a task the sweep took before it ended: the approval's refusal when a person denied it or nobody
 * decided in time, else the client's abandonment (it never asked for the task again after the approval).
 */
async function abandonedOutcome(approvals: Pick<Approvals, 'view'>, record: ApprovalTaskRecord) {
  // The task is already deleted: a failed read still gets the call its record (as abandoned).
  const approval = await approvals.view(record.tenantId, record.approvalId).catch(() => undefined);
  // An approval given and then left unused also shows `expired` once its usable time is over: that one was abandoned.
  const refused =
    approval?.status === 'denied' || (approval?.status === 'expired' && approval.decidedAt === null)
      ? approval.status
      : undefined;
  const error =
    refused !== undefined
      ? ended(refused, record.tool, record.approvalId)
      : new GatehouseError(
          'cancelled',
          `Nobody asked for the task's result in time; the call of ${record.tool} did not run.`,
          { tool: record.tool, approvalId: record.approvalId, reason: 'abandoned' },
        );
  // The client key's name as the approval request recorded it (the task row holds only the key id).
  return { keyName: approval?.clientKey ?? record.clientKeyId, outcome: { ok: false as const, error } };
}

/** The caller that started a task, as its outcome record names it. */
function callerOf(record: ApprovalTaskRecord, keyName: string): Caller {
  return {
    tenant: record.tenantId,
    toolset: record.toolset,
    authMethod: record.clientKeyId.startsWith('oauth-grant:') ? 'oauth' : 'key',
    keyId: record.clientKeyId,
    keyName,
    subject: record.subject,
  };
}

/** The error a waiting call ends with when its approval is not given: one code, the reason in words and details. */
function ended(reason: 'denied' | 'expired' | 'cancelled', tool: string, approvalId: string): GatehouseError {
  const message = {
    denied: `A person denied this call of ${tool}; it did not run. Do not retry it.`,
    expired: `Nobody approved this call of ${tool} in time; it did not run.`,
    cancelled: `The task was cancelled and its approval request withdrawn; the call of ${tool} did not run.`,
  }[reason];
  return new GatehouseError('approval_denied', message, { tool, approvalId, reason });
}

/** A call outcome as stored in a task (JSON): the result the client gets from `tasks/result`. */
type StoredOutcome =
  | {
      readonly ok: true;
      readonly text: string;
      readonly structuredContent?: Readonly<Record<string, unknown>>;
      readonly content?: readonly Readonly<Record<string, unknown>>[];
      readonly meta?: Readonly<Record<string, unknown>>;
      readonly isError?: boolean;
    }
  | {
      readonly ok: false;
      readonly code: string;
      readonly message: string;
      readonly details: GatehouseError['details'];
    };

function toStoredOutcome(outcome: CallOutcome): StoredOutcome {
  if (!outcome.ok) {
    return { ok: false, code: outcome.error.code, message: outcome.error.message, details: outcome.error.details };
  }
  return {
    ok: true,
    text: outcome.text,
    ...(outcome.structuredContent === undefined ? {} : { structuredContent: outcome.structuredContent }),
    ...(outcome.content === undefined ? {} : { content: outcome.content }),
    ...(outcome.meta === undefined ? {} : { meta: outcome.meta }),
    ...(outcome.isError === undefined ? {} : { isError: outcome.isError }),
  };
}

function fromStoredOutcome(stored: StoredOutcome): CallOutcome {
  if (stored.ok) return stored;
  const error = new GatehouseError(stored.code as GatehouseError['code'], stored.message, stored.details);
  return { ok: false, error };
}
