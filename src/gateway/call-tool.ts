import type { AuditLog, Telemetry } from '../audit/index.ts';
import type { Clock } from '../core/index.ts';
import { toGatehouseError } from '../core/index.ts';
import type { ResultHandles } from '../shaping/index.ts';
import type { Limiter } from '../store/index.ts';
import { admitApproval } from './admit-approval.ts';
import { admitLimits } from './admit-limits.ts';
import type { TenantRuntime } from './build-tenants.ts';
import { type CallContext, openCall, toolOf } from './call-context.ts';
import { subjectAt } from './connection-of.ts';
import type { Caller, CallOutcome, CallToolOptions } from './contract.ts';
import type { Approvals } from './create-approvals.ts';
import type { ConnectTarget, Credentials } from './credentials.ts';
import { type DecideCallDependencies, decideCall } from './decide-call.ts';
import { type ReadCacheDependencies, readCache, rememberRead } from './read-cache.ts';
import { type RecordOutcomeDependencies, recordOutcome } from './record-outcome.ts';
import { resolveTool } from './resolve-tool.ts';
import { answerMetaTool } from './run-meta-tool.ts';
import { selectConnectScopes } from './select-connect-scopes.ts';
import { type SendUpstreamDependencies, sendUpstream } from './send-upstream.ts';
import { shapeResult } from './shape-result.ts';

/** Everything one `tools/call` needs, built once by `createGateway`; each runtime object carries its own settings. */
export interface CallToolDependencies
  extends DecideCallDependencies,
    ReadCacheDependencies,
    SendUpstreamDependencies,
    RecordOutcomeDependencies {
  readonly tenants: ReadonlyMap<string, TenantRuntime>;
  readonly clock: Clock;
  readonly audit: Pick<AuditLog, 'recordToolIntent' | 'recordToolCall' | 'isIdle'>;
  readonly telemetry?: Pick<Telemetry, 'cacheLookup' | 'toolCall' | 'tokensReturned'>;
  readonly limiter: Limiter;
  readonly approvals: Approvals;
  readonly credentials: Pick<Credentials, 'resolveCredential' | 'withConnectLink'>;
  readonly handles: ResultHandles;
}

/**
 * The `tools/call` use case: the steps of DESIGN.md §1 in order, one call context carried through them. A refusal
 * or failure at any step ends the call with a GatehouseError outcome; every call, whatever its end, gets exactly
 * one outcome record (a call that waits for its approval in a task gets it when the task ends). Never throws.
 */
export async function callTool(
  deps: CallToolDependencies,
  caller: Caller,
  name: string,
  args: unknown,
  requestId: string,
  options: CallToolOptions = {},
): Promise<CallOutcome> {
  const call = openCall(deps.clock, caller, name, args, requestId, options.relay);
  let outcome: CallOutcome;
  try {
    resolveTool(deps.tenants, call);
    await decideCall(deps, call);
    if (options.endWith !== undefined) throw options.endWith;
    await admitLimits(deps.limiter, call);
    await admitApproval(deps.approvals, call);
    call.admitted = true;
    if (call.metaTool) {
      outcome = { ok: true, ...(await answerMetaTool(deps.handles, call)) };
    } else {
      if (!(await readCache(deps, call))) {
        await resolveCredential(deps, call);
        await sendUpstream(deps, call).catch(async (error: unknown) => {
          // The forced refresh after a 401 may find the grant gone: this call answers with the connect link. A
          // federated server wanting more scope (MCP step-up) answers with the link that asks for it.
          throw await deps.credentials.withConnectLink(
            error,
            connectTargetOf(call),
            connectScopesOf(call),
            configuredScopesOf(call),
          );
        });
        await rememberRead(deps.cache, call);
      }
      outcome = { ok: true, ...(await shapeResult(deps, call)) };
    }
  } catch (error) {
    outcome = { ok: false, error: toGatehouseError(error) };
  }
  call.release?.();
  if (options.awaitsApproval === true && !outcome.ok && outcome.error.code === 'approval_required') return outcome;
  return recordOutcome(deps, call, outcome);
}

/**
 * The one outcome record of a call that ended without walking the steps: a task whose client never came back for it
 * (`ApprovalTasks.sweepExpired`). The record `callTool` writes (no method or path: the call was never decided
 * again), committed before this resolves.
 */
export async function recordCallNotRun(
  deps: RecordOutcomeDependencies,
  caller: Caller,
  name: string,
  args: unknown,
  requestId: string,
  outcome: CallOutcome,
): Promise<void> {
  await recordOutcome({ ...deps, commitAll: true }, openCall(deps.clock, caller, name, args, requestId), outcome);
}

/**
 * Step "credential": the credential of the tool's service for the caller (`resolveCredential`, the one function
 * that produces it), from the connection row the decide step read. A missing connection answers with a connect
 * link asking for the scopes the caller's toolset needs.
 */
async function resolveCredential(deps: Pick<CallToolDependencies, 'credentials'>, call: CallContext): Promise<void> {
  const { service } = toolOf(call);
  const { tenant, subject } = connectTargetOf(call);
  try {
    call.credential = await deps.credentials.resolveCredential(
      tenant,
      service.id,
      service.auth,
      subject,
      call.connection,
      service.connectionVariables,
    );
  } catch (error) {
    // No usable connection, or a refresh refused with invalid_grant: this very call answers with the link.
    throw await deps.credentials.withConnectLink(error, connectTargetOf(call), connectScopesOf(call));
  }
}

/** Whose connection the call uses: the caller's tenant, the tool's service, the caller's subject at that service. */
function connectTargetOf(call: CallContext): ConnectTarget {
  const { service } = toolOf(call);
  return {
    tenant: call.caller.tenant,
    service: service.id,
    subject: subjectAt(call.caller, service),
    shared: service.shared,
  };
}

/** The scopes a connect link of this call asks for: what the caller's toolset needs of the service. */
function connectScopesOf(call: CallContext): () => readonly string[] {
  const { service } = toolOf(call);
  const policy = call.toolset?.policy;
  return () =>
    policy === undefined
      ? []
      : service.auth.type === 'oauth2'
        ? selectConnectScopes(policy, service.id, service.auth.scopes, service.auth.refreshScope)
        : selectConnectScopes(policy, service.id, []);
}

/** The service's configured `scopes`: the ceiling of a federated server's step-up link (empty: none). */
function configuredScopesOf(call: CallContext): readonly string[] {
  const { service } = toolOf(call);
  return service.auth.type === 'oauth2' ? service.auth.scopes : [];
}
