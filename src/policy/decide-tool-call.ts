import { GatehouseError, type NamedTool } from '../core/index.ts';
import type { ToolsetPolicy } from './toolset-policy.ts';
import { validateArguments } from './validate-arguments.ts';

export interface ToolCallRequest {
  readonly name: string;
  readonly args: unknown;
  /**
   * Scopes the caller's connection was granted at the tool's service (the stored grant, OA-13). Undefined when
   * the service is not OAuth or has no connection yet (the credential step then asks for one).
   */
  readonly grantedScopes?: readonly string[] | undefined;
}

export interface ToolCallDecision {
  readonly tool: NamedTool;
  readonly args: Readonly<Record<string, unknown>>;
  /** The call may only run once a person has approved these exact arguments (step 5, done by the caller). */
  readonly needsApproval: boolean;
}

/**
 * Decides one tool call before anything leaves the gateway, in the order of DESIGN.md §7: (1) the tool is in
 * the toolset and allowed by its access mode; (2) the toolset's scopes and the connection's grant cover it;
 * (3) the arguments validate, with the toolset's constraints; then the caller runs (4) the rate and concurrency
 * limits (`createCallLimits`: async, as the limiter may be shared in Redis) and (5) the approval step, which
 * needs the store; this function only answers whether the call needs approval.
 * Throws a GatehouseError with a stable code. Nothing here depends on what the model says about itself: only
 * on the verified caller's toolset, its connection's grant and the arguments.
 */
export function decideToolCall(policy: ToolsetPolicy, request: ToolCallRequest): ToolCallDecision {
  const tool = policy.tools.get(request.name);
  const rules = policy.rules.get(request.name);
  if (tool === undefined || rules === undefined) throw refuseUnexposed(policy, request.name);
  if (request.grantedScopes !== undefined && rules.scopes.length > 0) {
    const missing = policy.missingScopesOf(tool.service, rules.scopes, request.grantedScopes);
    if (missing !== undefined) {
      // Each entry is one way to cover the tool; a step-up link asks for them all (`missingScopes`).
      const plural = missing.some((way) => way.length > 1);
      const ways = missing.map((way) =>
        missing.length > 1 && way.length > 1 ? `(${way.join(', ')})` : way.join(', '),
      );
      throw new GatehouseError(
        'scope_missing',
        `Tool ${request.name} needs OAuth scope${plural ? 's' : ''} ${ways.join(' or ')}, which the connection to ${tool.service} was not granted`,
        { tool: request.name, service: tool.service, missingScopes: [...new Set(missing.flat())], reason: 'grant' },
      );
    }
  }
  const args = validateArguments(tool.tool, request.args, rules.constraints, tool.name);
  return { tool, args, needsApproval: rules.requiresApproval };
}

function refuseUnexposed(policy: ToolsetPolicy, name: string): GatehouseError {
  const missing = policy.scopeDenied.get(name);
  if (missing !== undefined) {
    return new GatehouseError(
      'scope_missing',
      `Tool ${name} needs OAuth scope${missing.length > 1 ? 's' : ''} ${missing.join(', ')}, which toolset ${policy.toolset} does not allow`,
      { tool: name, toolset: policy.toolset, missingScopes: missing, reason: 'toolset' },
    );
  }
  const uncovered = policy.serviceScopeDenied.get(name);
  if (uncovered !== undefined) {
    const service = policy.tenantTools.get(name)?.service;
    return new GatehouseError(
      'scope_missing',
      `Tool ${name} needs OAuth scope${uncovered.length > 1 ? 's' : ''} ${uncovered.join(', ')}, which service ${service} does not ask for (its configured scopes)`,
      { tool: name, toolset: policy.toolset, missingScopes: uncovered, reason: 'service' },
    );
  }
  if (policy.accessDenied.has(name)) return refuseReadOnly(policy, name);
  if (!policy.tenantTools.has(name))
    return new GatehouseError('tool_not_found', `Unknown tool: ${name}`, { tool: name });
  return new GatehouseError('tool_not_allowed', `Tool ${name} is not in toolset ${policy.toolset}`, {
    tool: name,
    toolset: policy.toolset,
  });
}

/**
 * A tool a read-only toolset (`access: read`, the default) refuses, naming the toolset's two settings that would let
 * it through (`details.settings`), so the person asking an operator knows what to ask for. A remote MCP server's tool
 * is never safe by its own annotations (`reason: remote_hints`), so only an operator's `policy.safety` or `access:
 * write` exposes it. The policy is shared by tenants with the same toolset, so the toolset is named by id, not by its
 * index in a config.
 */
function refuseReadOnly(policy: ToolsetPolicy, name: string): GatehouseError {
  const remote = policy.tenantTools.get(name)?.tool.request.mcp !== undefined;
  const why = remote ? `is a remote MCP server's tool, which is never safe by its own hints,` : 'has side effects';
  return new GatehouseError(
    'access_mode_denied',
    `Tool ${name} ${why} and toolset ${policy.toolset} is read-only: an operator can set toolset ${policy.toolset}'s access to write, or, if the tool only reads, class it safe in the toolset's policy.safety`,
    {
      tool: name,
      toolset: policy.toolset,
      settings: ['access', 'policy.safety'],
      reason: remote ? 'remote_hints' : 'side_effects',
    },
  );
}
