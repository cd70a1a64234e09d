import { GatehouseError } from '../core/index.ts';
import type { TenantRuntime } from './build-tenants.ts';
import type { CallContext } from './call-context.ts';
import { isMetaTool, unwrapCallTool } from './run-meta-tool.ts';

/**
 * Step "resolve" of `callTool`: the caller's tenant and toolset (`not_found` when the endpoint is gone), the call
 * `gatehouse_call_tool` stands for (run through this same path and audited under the real tool's name), and
 * whether the name is one of the toolset's meta-tools (search, describe, result query, result page).
 */
export function resolveTool(tenants: ReadonlyMap<string, TenantRuntime>, call: CallContext): void {
  const tenant = tenants.get(call.caller.tenant);
  const toolset = tenant?.toolsets.get(call.caller.toolset);
  if (tenant === undefined || toolset === undefined) throw new GatehouseError('not_found', 'No such MCP endpoint');
  call.tenant = tenant;
  call.toolset = toolset;
  const { name, args } = unwrapCallTool(toolset.meta, call.name, call.args);
  call.name = name;
  call.args = args;
  call.metaTool = isMetaTool(toolset.meta, name);
}
