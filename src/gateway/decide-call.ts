import { GatehouseError, isGatehouseError } from '../core/index.ts';
import { decideToolCall } from '../policy/index.ts';
import type { Store } from '../store/index.ts';
import type { CallContext } from './call-context.ts';
import { connectionOf, sharedStepUpRefusal } from './connection-of.ts';

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

export interface DecideCallDependencies {
  readonly store: Pick<Store, 'connections'>;
  readonly mintConnectLink?: MintConnectLink;
  /**
   * The federated service of the tenant whose tools are not listed now (its last listing failed) and to which a
   * tool `name` of this toolset would belong; undefined when there is none (a typo, a tool the server dropped).
   */
  readonly unlistedServiceOf?: (tenant: string, toolset: string, name: string) => string | undefined;
}

/**
 * Step "decide" of `callTool`, policy steps 1-3 of DESIGN.md §7: reads the caller's connection at the tool's OAuth
 * service (once per call, `connectionOf`), then `decideToolCall` (the tool is in the toolset and allowed by the
 * access mode; the grant covers its scopes; the arguments validate). A grant shortfall becomes `scope_missing`
 * carrying one step-up link for exactly the missing scopes. Meta-tools have no policy of their own here: they
 * check their arguments when they run, and the limits step counts them like any call.
 */
export async function decideCall(deps: DecideCallDependencies, call: CallContext): Promise<void> {
  if (call.metaTool) return;
  if (call.tenant === undefined || call.toolset === undefined) throw new Error('callTool: decide before resolve');
  const { policy } = call.toolset;
  const named = policy.tools.get(call.name);
  const service = named === undefined ? undefined : call.tenant.services.get(named.service);
  call.connection = service === undefined ? undefined : await connectionOf(deps.store, call.caller, service);
  try {
    call.decision = decideToolCall(policy, {
      name: call.name,
      args: call.args,
      grantedScopes: call.connection?.scopes,
    });
  } catch (error) {
    if (isGatehouseError(error) && error.code === 'scope_missing' && error.details['reason'] === 'grant') {
      // A shared service's connection is everyone's: a link from a call would let any caller replace the working
      // connection with an account of their own (finding shared_connection_takeover_by_step_up). An operator
      // widens it instead; the caller's own connection is the one a link renews.
      if (service?.shared === true) throw sharedStepUpRefusal(error);
      throw await withStepUpLink(deps.mintConnectLink, error, call.caller.tenant, call.caller.subject);
    }
    if (isGatehouseError(error) && error.code === 'tool_not_found') {
      const unlisted = deps.unlistedServiceOf?.(call.caller.tenant, policy.toolset, call.name);
      if (unlisted !== undefined) throw unlistedServiceTool(error, unlisted);
    }
    throw error;
  }
  call.service = call.tenant.services.get(call.decision.tool.service);
}

/**
 * `tool_not_found` for a tool of a federated server that is not listed now: the agent learns that the tool may come
 * back (a server down, not a typo) and whom to ask. Why the listing failed (an address, a status) stays with the
 * operator's admin API and log.
 */
function unlistedServiceTool(error: GatehouseError, service: string): GatehouseError {
  return new GatehouseError(
    'tool_not_found',
    `${error.message}. Service ${service} is a remote MCP server whose tools are not listed now (its last listing failed); the tool may be back once a listing succeeds: try again later, or ask an operator, whose admin API says why`,
    { ...error.details, service, reason: 'service_unlisted' },
  );
}

async function withStepUpLink(
  mintConnectLink: MintConnectLink | undefined,
  error: GatehouseError,
  tenant: string,
  subject: string,
): Promise<GatehouseError> {
  const service = String(error.details['service']);
  const scopes = (error.details['missingScopes'] ?? []) as readonly string[];
  if (mintConnectLink === undefined) return error;
  const url = await mintConnectLink({
    tenant,
    service,
    subject,
    scopes,
    reason: 'step_up',
  });
  return new GatehouseError(
    'scope_missing',
    `${error.message}. Ask the user to grant ${scopes.join(', ')} at ${url} ; then call the tool again.`,
    { ...error.details, stepUpUrl: url },
  );
}
