import { GatehouseError, type NamedTool } from '../core/index.ts';
import type { BucketDecision } from './create-token-buckets.ts';
import type { ToolsetPolicy } from './toolset-policy.ts';
import { validateArguments } from './validate-arguments.ts';

export interface ToolCallRequest {
  readonly name: string;
  readonly args: unknown;
  /** Key the rate limiter counts under, e.g. `tenant/toolset`. */
  readonly limiterKey: string;
}

export type TakeToken = (key: string, perMinute: number, burst: number) => BucketDecision;

/**
 * Decides one tool call before anything leaves the gateway, in the order of DESIGN.md §7: the tool is in the
 * toolset and allowed by its access mode; the arguments validate; the rate limit admits it; approval.
 * Returns the tool and its validated arguments, or throws a GatehouseError with a stable code. Nothing here
 * depends on what the model says about itself: only on the verified caller's toolset and the arguments.
 */
export function decideToolCall(
  policy: ToolsetPolicy,
  request: ToolCallRequest,
  takeToken: TakeToken,
): { readonly tool: NamedTool; readonly args: Readonly<Record<string, unknown>> } {
  const tool = policy.tools.get(request.name);
  if (tool === undefined) {
    const known = policy.tenantTools.get(request.name);
    if (known === undefined) {
      throw new GatehouseError('tool_not_found', `Unknown tool: ${request.name}`, { tool: request.name });
    }
    if (policy.access === 'read' && known.tool.safety !== 'safe') {
      throw new GatehouseError(
        'access_mode_denied',
        `Tool ${request.name} has side effects and toolset ${policy.toolset} is read-only`,
        { tool: request.name, toolset: policy.toolset },
      );
    }
    throw new GatehouseError('tool_not_allowed', `Tool ${request.name} is not in toolset ${policy.toolset}`, {
      tool: request.name,
      toolset: policy.toolset,
    });
  }
  const args = validateArguments(tool.tool, request.args);
  if (policy.rateLimit) {
    const decision = takeToken(request.limiterKey, policy.rateLimit.perMinute, policy.rateLimit.burst);
    if (!decision.admitted) {
      throw new GatehouseError('rate_limited', `Rate limit of toolset ${policy.toolset} reached; retry later`, {
        retryAfterSeconds: decision.retryAfterSeconds,
      });
    }
  }
  if (policy.requiresApproval(tool)) {
    // The out-of-band approval flow is not built yet: a call that needs approval is refused, never run.
    throw new GatehouseError(
      'approval_required',
      `Tool ${request.name} needs a person's approval, and approvals are not available on this gateway yet`,
      { tool: request.name },
    );
  }
  return { tool, args };
}
