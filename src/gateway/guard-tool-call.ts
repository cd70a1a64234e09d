import type { Clock, Config, NamedTool } from '../core/index.ts';
import { GatehouseError, isGatehouseError } from '../core/index.ts';
import { decideToolCall, findMissingScopes, type ToolCallDecision, type ToolsetPolicy } from '../policy/index.ts';
import type { ConnectionRecord, Store } from '../store/index.ts';
import type { Vault } from '../vault/index.ts';
import type { ServiceRuntime, ToolsetRuntime } from './build-tenants.ts';
import type { Caller, ListedTool } from './contract.ts';
import { type ApprovalDecisionEvent, type Approvals, createApprovals } from './create-approvals.ts';
import { createApprovalNotifier } from './notify-approvers.ts';

/** What a step-up (or first) connect link asks for. */
export interface ConnectLinkRequest {
  readonly tenant: string;
  readonly service: string;
  readonly subject: string;
  /** Exactly the scopes to ask the authorization server for. */
  readonly scopes: readonly string[];
  readonly reason: 'step_up';
}

/**
 * Mints a signed, short-lived `/connect/...` link (the OAuth connect flow owns it). The seam between policy,
 * which knows which scopes are missing, and the connect flow, which knows how to ask for them.
 */
export type MintConnectLink = (request: ConnectLinkRequest) => Promise<string>;

export interface ToolCallGuardDependencies {
  readonly config: Config;
  readonly store: Pick<Store, 'approvals' | 'connections'>;
  readonly vault: Pick<Vault, 'encrypt' | 'decrypt'>;
  readonly clock: Clock;
  readonly services: (tenant: string) => ReadonlyMap<string, ServiceRuntime> | undefined;
  readonly mintConnectLink?: MintConnectLink;
  /** Audit of approval decisions. */
  readonly onApprovalDecided?: (event: ApprovalDecisionEvent) => Promise<void> | void;
  readonly onWebhookError?: (error: unknown) => void;
}

export interface ToolCallGuard {
  /** Delivers queued approval notifications (a few seconds at most). */
  close(): Promise<void>;
  /**
   * The whole policy of one call (DESIGN.md §7): loads the caller's granted scopes for the tool's service when
   * it is an OAuth service, runs `decideToolCall`, turns a grant shortfall into `scope_missing` carrying one
   * step-up link for exactly the missing scopes, runs `admitLimits` (step 4, rate and concurrency limits), and
   * runs the approval step. Throws a GatehouseError.
   */
  decide(
    caller: Caller,
    policy: ToolsetPolicy,
    name: string,
    args: unknown,
    admitLimits: (tool: NamedTool) => Promise<void>,
  ): Promise<GuardedToolCall>;
  /** `tools/list` for this caller: the precomputed list, minus tools its connections' grants cannot cover. */
  listTools(caller: Caller, toolset: ToolsetRuntime): Promise<readonly ListedTool[]>;
  readonly approvals: Approvals;
}

/**
 * An admitted call, with the caller's connection at the tool's OAuth service as the policy saw it: `null` when
 * there is none, undefined for a service without OAuth. The credential step uses the same row (one read per
 * call, and the scopes checked are those of the token sent).
 */
export type GuardedToolCall = ToolCallDecision & { readonly connection?: ConnectionRecord | null };

/** Builds the policy steps that need the store: connection grants, step-up links and approvals. */
export function createToolCallGuard(deps: ToolCallGuardDependencies): ToolCallGuard {
  const { store, clock } = deps;
  const approvalsConfig = deps.config.approvals;
  const notifier =
    approvalsConfig.webhookUrl !== undefined && approvalsConfig.webhookSecret !== undefined
      ? createApprovalNotifier({
          url: approvalsConfig.webhookUrl,
          secret: approvalsConfig.webhookSecret,
          ...(deps.onWebhookError ? { onError: deps.onWebhookError } : {}),
        })
      : undefined;
  const approvals = createApprovals({
    repository: store.approvals,
    vault: deps.vault,
    clock,
    publicUrl: deps.config.publicUrl,
    ttlMs: approvalsConfig.ttlMinutes * 60_000,
    linkInResult: approvalsConfig.linkInResult,
    ...(notifier ? { onRequested: notifier.notify } : {}),
    ...(deps.onApprovalDecided ? { onDecided: deps.onApprovalDecided } : {}),
  });
  /** Filtered lists per (toolset, grants): callers with the same grants share one array. */
  const listMemo = new WeakMap<ToolsetRuntime, Map<string, readonly ListedTool[]>>();

  /**
   * The caller's own connection at an OAuth service (its subject's: a key never borrows another subject's
   * account, `shared` included); null when there is none (yet), undefined for a service without OAuth.
   */
  async function connectionOf(caller: Caller, service: ServiceRuntime): Promise<ConnectionRecord | null | undefined> {
    if (service.auth.type !== 'oauth2' || store.connections === undefined) return undefined;
    return (await store.connections.find(caller.tenant, service.id, caller.subject)) ?? null;
  }

  return {
    approvals,

    close: async () => notifier?.close(5_000),

    async decide(caller, policy, name, args, admitLimits) {
      const named = policy.tools.get(name);
      const service = named === undefined ? undefined : deps.services(caller.tenant)?.get(named.service);
      const connection = service === undefined ? undefined : await connectionOf(caller, service);
      let decided: ToolCallDecision;
      try {
        decided = decideToolCall(policy, { name, args, grantedScopes: connection?.scopes });
      } catch (error) {
        if (isGatehouseError(error) && error.code === 'scope_missing' && error.details['reason'] === 'grant') {
          throw await withStepUpLink(error, caller);
        }
        throw error;
      }
      await admitLimits(decided.tool);
      if (decided.needsApproval) await approvals.admit(caller, name, decided.args);
      return connection === undefined ? decided : { ...decided, connection };
    },

    async listTools(caller, toolset) {
      const { policy } = toolset;
      if (!policy.usesScopes || store.connections === undefined) return toolset.listed;
      const services = deps.services(caller.tenant);
      const grants = new Map<string, readonly string[]>();
      for (const serviceId of new Set([...policy.tools.values()].map((tool) => tool.service))) {
        const service = services?.get(serviceId);
        const granted = service === undefined ? undefined : (await connectionOf(caller, service))?.scopes;
        if (granted !== undefined) grants.set(serviceId, granted);
      }
      if (grants.size === 0) return toolset.listed;
      const key = [...grants].map(([service, scopes]) => `${service}=${scopes.join(' ')}`).join('\u0000');
      let byGrant = listMemo.get(toolset);
      if (byGrant === undefined) {
        byGrant = new Map();
        listMemo.set(toolset, byGrant);
      }
      let listed = byGrant.get(key);
      if (listed === undefined) {
        listed = Object.freeze(
          toolset.listed.filter((tool) => {
            const named = policy.tools.get(tool.name);
            const granted = named && grants.get(named.service);
            if (named === undefined || granted === undefined) return true;
            const rules = policy.rules.get(tool.name);
            return (
              rules === undefined ||
              findMissingScopes(rules.scopes, policy.heldScopesOf(named.service, granted)) === undefined
            );
          }),
        );
        if (byGrant.size >= 1_000) byGrant.clear();
        byGrant.set(key, listed);
      }
      return listed;
    },
  };

  async function withStepUpLink(error: GatehouseError, caller: Caller): Promise<GatehouseError> {
    const service = String(error.details['service']);
    const scopes = (error.details['missingScopes'] ?? []) as readonly string[];
    if (deps.mintConnectLink === undefined) return error;
    const url = await deps.mintConnectLink({
      tenant: caller.tenant,
      service,
      subject: caller.subject,
      scopes,
      reason: 'step_up',
    });
    return new GatehouseError(
      'scope_missing',
      `${error.message}. Ask the user to grant ${scopes.join(', ')} at ${url} ; then call the tool again.`,
      { ...error.details, stepUpUrl: url },
    );
  }
}
