import { GatehouseError } from '../core/index.ts';
import { admitCallLimits, rateLimitsOf } from '../policy/index.ts';
import type { Limiter } from '../store/index.ts';
import type { TenantRuntime } from './build-tenants.ts';
import type { CallContext } from './call-context.ts';
import type { Caller } from './contract.ts';
import { unwrapCallTool } from './run-meta-tool.ts';

/** A meta-tool's concurrency slot: it runs in process, within the query budget; this bounds a lost release. */
const metaToolLeaseMs = 35_000;

/**
 * Step "limits" of `callTool`, policy step 4 of DESIGN.md §7: every call a key makes, meta-tools included (review
 * finding 4), is counted against the rate and concurrency limits its toolset carries, or refused with
 * `rate_limited` and a retry time. The slot is released once the call has ended (`call.release`).
 */
export async function admitLimits(limiter: Limiter, call: CallContext): Promise<void> {
  if (call.toolset === undefined) throw new Error('callTool: limits before resolve');
  const leaseMs = call.service?.leaseMs ?? metaToolLeaseMs;
  call.release = await admitCallLimits(limiter, call.toolset.limits, call.caller, call.name, leaseMs);
}

/**
 * A retry of a relayed call (the client answering a federated server's question, `requestState` set) counted against
 * the caller's rate limits as a call of the tool it names: every request a key makes counts (review finding 4), and
 * a retry delivers answers upstream or asks another process. Not against its concurrency: the call it continues
 * holds its slot until it ends. Throws `rate_limited`, or `not_found` when the endpoint is gone.
 */
export async function admitRelayedRetry(
  tenants: ReadonlyMap<string, TenantRuntime>,
  limiter: Limiter,
  caller: Caller,
  name: string,
  args: unknown,
): Promise<void> {
  const toolset = tenants.get(caller.tenant)?.toolsets.get(caller.toolset);
  if (toolset === undefined) throw new GatehouseError('not_found', 'No such MCP endpoint');
  const tool = unwrapCallTool(toolset.meta, name, args).name;
  await admitCallLimits(limiter, rateLimitsOf(toolset.limits), caller, tool, metaToolLeaseMs);
}
