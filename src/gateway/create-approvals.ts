import { timingSafeEqual } from 'node:crypto';
import { type Clock, createId, GatehouseError } from '../core/index.ts';
import { hashApprovalArguments } from '../policy/index.ts';
import type { ApprovalRecord, ApprovalRepository, ApprovalStatus } from '../store/index.ts';
import type { Vault } from '../vault/index.ts';
import type { Caller } from './contract.ts';

/** An approval request as approvers see it (admin API, approval page, webhook). Never carries the link token. */
export interface ApprovalView {
  readonly id: string;
  readonly tenant: string;
  readonly toolset: string;
  readonly tool: string;
  /** Name of the client key that asked, and the subject it acts for. */
  readonly clientKey: string;
  readonly subject: string;
  readonly arguments: unknown;
  readonly argumentsHash: string;
  /** `expired` when pending or approved past `expiresAt`. */
  readonly status: ApprovalStatus | 'expired';
  readonly requestedAt: string;
  readonly expiresAt: string;
  readonly decidedBy: string | null;
  readonly decidedAt: string | null;
  readonly consumedAt: string | null;
}

/** A decision as it is reported (audit, metrics): who decided which request, through which channel. */
export interface ApprovalDecisionEvent {
  readonly approval: ApprovalView;
  readonly decision: 'approved' | 'denied';
  /** `mcp_client`: the agent withdrew its own request (a cancelled task, a declined elicitation): only ever a denial. */
  readonly channel: 'admin_api' | 'approval_page' | 'console' | 'mcp_client';
}

export interface ApprovalsDependencies {
  readonly repository: ApprovalRepository;
  /** Seals each request's link token with the tenant's data key. */
  readonly vault: Pick<Vault, 'encrypt' | 'decrypt'>;
  readonly clock: Clock;
  /** Public base URL; approval links are `{publicUrl}/approvals/{id}?tenant=...&sig=...`. */
  readonly publicUrl: string;
  /** How long a request waits for a decision, and how long an approval then stays usable. */
  readonly ttlMs: number;
  /**
   * Whether the `approval_required` result carries the approval link (default true), so the agent can hand it to
   * its user. False: the link goes only to approvers (webhook; the admin API decides by id), never to the model.
   */
  readonly linkInResult?: boolean;
  /** Called (not awaited) for every new request, e.g. to notify approvers by webhook. */
  readonly onRequested?: (approval: ApprovalView, url: string) => void;
  /** Called after every decision, before it returns (the audit record). */
  readonly onDecided?: (event: ApprovalDecisionEvent) => Promise<void> | void;
}

export interface Approvals {
  /**
   * Step 5 of the policy for a call that needs approval. Resolves when an approval of exactly this call
   * (tenant, toolset, tool, client key, subject, SHA-256 of the canonical arguments) existed and this caller
   * consumed it: the call may run, once. Otherwise throws `approval_required` (details: `approvalId`,
   * `approvalUrl`, `expiresAt`), creating the request unless one for the same call is already pending, or
   * `approval_denied` when a person denied this exact call and the denial has not expired.
   */
  admit(caller: Caller, tool: string, args: unknown): Promise<void>;
  list(tenant: string, status?: ApprovalStatus): Promise<readonly ApprovalView[]>;
  /** `not_found` for an unknown id; `invalid_request` when it is no longer pending (decided or expired). */
  decide(
    tenant: string,
    id: string,
    decision: 'approved' | 'denied',
    by: string,
    channel: Exclude<ApprovalDecisionEvent['channel'], 'mcp_client'>,
  ): Promise<ApprovalView>;
  /** One request as approvers see it; `not_found` for an unknown id. */
  view(tenant: string, id: string): Promise<ApprovalView>;
  /**
   * The agent withdraws its own pending request (a cancelled task, a declined elicitation): a denial recorded as
   * decided by its client key, never an approval. False when the request is not the caller's or is no longer pending.
   */
  withdraw(caller: Caller, id: string): Promise<boolean>;
  /** The request behind an approval link; `not_found` unless `token` is this request's link token. */
  openLink(tenant: string, id: string, token: string): Promise<ApprovalView>;
}

/**
 * Out-of-band approval of tool calls (SC-05). The model has no way to approve: only the admin API and the
 * approval page (holding the link's unguessable token) call `decide`. Single use is enforced by the store's
 * conditional update (`approved` -> `consumed` succeeds for exactly one caller, across processes).
 */
export function createApprovals(deps: ApprovalsDependencies): Approvals {
  const { repository, vault, clock } = deps;
  const scopeOf = (tenant: string, id: string) => ({ tenantId: tenant, owner: `approval:${id}`, field: 'link' });
  const linkOf = (record: ApprovalRecord, token: string) =>
    `${deps.publicUrl}/approvals/${encodeURIComponent(record.id)}?tenant=${encodeURIComponent(record.tenantId)}&sig=${token}`;

  function required(record: ApprovalRecord, token: string): GatehouseError {
    if (deps.linkInResult === false) {
      return new GatehouseError(
        'approval_required',
        `Tool ${record.tool} needs a person's approval of this exact call before it runs. Approvers have been asked (approval ${record.id}); tell the user, and call the tool again with the same arguments once it is approved.`,
        { tool: record.tool, approvalId: record.id, expiresAt: new Date(record.expiresAt).toISOString() },
      );
    }
    const url = linkOf(record, token);
    return new GatehouseError(
      'approval_required',
      `Tool ${record.tool} needs a person's approval of this exact call before it runs. Ask the user to open ${url} ; then call the tool again with the same arguments.`,
      {
        tool: record.tool,
        approvalId: record.id,
        approvalUrl: url,
        expiresAt: new Date(record.expiresAt).toISOString(),
      },
    );
  }

  async function tokenOf(record: ApprovalRecord): Promise<string> {
    return vault.decrypt(scopeOf(record.tenantId, record.id), record.sealedLinkToken);
  }

  return {
    async admit(caller, tool, args) {
      const { json, hash } = hashApprovalArguments(args);
      const binding = {
        tenantId: caller.tenant,
        toolset: caller.toolset,
        tool,
        clientKeyId: caller.keyId,
        subject: caller.subject,
        argsHash: hash,
      };
      const now = clock.now();
      const live = await repository.findLive(binding, now);
      if (live?.status === 'approved' && (await repository.consume(caller.tenant, live.id, now))) return;
      if (live?.status === 'denied') {
        throw new GatehouseError('approval_denied', `A person denied this call of ${tool}; do not retry it`, {
          tool,
          approvalId: live.id,
        });
      }
      if (live?.status === 'pending') throw required(live, await tokenOf(live));
      const id = createId(16);
      const token = createId(32);
      const record: ApprovalRecord = {
        ...binding,
        id,
        clientKeyName: caller.keyName,
        argsJson: json,
        sealedLinkToken: await vault.encrypt(scopeOf(caller.tenant, id), token),
        status: 'pending',
        requestedAt: now,
        expiresAt: now + deps.ttlMs,
        decidedBy: null,
        decidedAt: null,
        consumedAt: null,
      };
      await repository.insert(record);
      deps.onRequested?.(toView(record, now), linkOf(record, token));
      throw required(record, token);
    },

    async list(tenant, status) {
      const now = clock.now();
      return (await repository.list(tenant, status === undefined ? {} : { status })).map((r) => toView(r, now));
    },

    async view(tenant, id) {
      const found = await repository.get(tenant, id);
      if (found === undefined) throw new GatehouseError('not_found', `No approval ${id} in tenant ${tenant}`);
      return toView(found, clock.now());
    },

    async withdraw(caller, id) {
      const now = clock.now();
      const found = await repository.get(caller.tenant, id);
      const own =
        found !== undefined &&
        found.toolset === caller.toolset &&
        found.clientKeyId === caller.keyId &&
        found.subject === caller.subject;
      if (
        !own ||
        !(await repository.decide(caller.tenant, id, 'denied', `client:${caller.keyName}`, now, now + deps.ttlMs))
      ) {
        return false;
      }
      const decided = toView((await repository.get(caller.tenant, id)) as ApprovalRecord, now);
      await deps.onDecided?.({ approval: decided, decision: 'denied', channel: 'mcp_client' });
      return true;
    },

    async decide(tenant, id, decision, by, channel) {
      const now = clock.now();
      const found = await repository.get(tenant, id);
      if (found === undefined) throw new GatehouseError('not_found', `No approval ${id} in tenant ${tenant}`);
      if (!(await repository.decide(tenant, id, decision, by, now, now + deps.ttlMs))) {
        throw new GatehouseError(
          'invalid_request',
          `Approval ${id} is no longer pending (already decided or expired)`,
          {
            status: toView(found, now).status,
          },
        );
      }
      const decided = toView((await repository.get(tenant, id)) as ApprovalRecord, now);
      await deps.onDecided?.({ approval: decided, decision, channel });
      return decided;
    },

    async openLink(tenant, id, token) {
      const found = await repository.get(tenant, id);
      const notFound = new GatehouseError('not_found', 'No such approval request');
      if (found === undefined) throw notFound;
      let expected: string;
      try {
        expected = await tokenOf(found);
      } catch {
        throw notFound;
      }
      const a = Buffer.from(expected);
      const b = Buffer.from(token);
      if (a.length !== b.length || !timingSafeEqual(a, b)) throw notFound;
      return toView(found, clock.now());
    },
  };
}

function toView(record: ApprovalRecord, now: number): ApprovalView {
  const expired = (record.status === 'pending' || record.status === 'approved') && record.expiresAt <= now;
  const iso = (t: number | null) => (t === null ? null : new Date(t).toISOString());
  return {
    id: record.id,
    tenant: record.tenantId,
    toolset: record.toolset,
    tool: record.tool,
    clientKey: record.clientKeyName,
    subject: record.subject,
    arguments: JSON.parse(record.argsJson) as unknown,
    argumentsHash: record.argsHash,
    status: expired ? 'expired' : record.status,
    requestedAt: new Date(record.requestedAt).toISOString(),
    expiresAt: new Date(record.expiresAt).toISOString(),
    decidedBy: record.decidedBy,
    decidedAt: iso(record.decidedAt),
    consumedAt: iso(record.consumedAt),
  };
}
