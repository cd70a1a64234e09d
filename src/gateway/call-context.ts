import type { Clock, NamedTool } from '../core/index.ts';
import type { ReleaseLimits, ToolCallDecision } from '../policy/index.ts';
import type { CacheSlot } from '../shaping/index.ts';
import type { ConnectionRecord } from '../store/index.ts';
import type { ServiceRuntime, TenantRuntime, ToolsetRuntime } from './build-tenants.ts';
import type { Caller, CallRelay } from './contract.ts';
import type { ResolvedCredential } from './credentials.ts';
import type { FetchedPage } from './shape-result.ts';

/**
 * One `tools/call` as it walks the steps of `callTool` (DESIGN.md §1). Each step reads what the earlier ones
 * found and adds its own part; nothing is looked up twice. Fields are set in this order.
 */
export interface CallContext {
  readonly caller: Caller;
  readonly requestId: string;
  /** The client's cancellation (ends the upstream request of any tool) and progress token (federated tools). */
  readonly relay?: CallRelay;
  /** Monotonic start, for the record's latency. */
  readonly started: number;
  /** The tool as audited: the inner tool of `gatehouse_call_tool` once resolved. */
  name: string;
  args: unknown;
  /** resolve: the caller's tenant and toolset, and whether `name` is one of the toolset's meta-tools. */
  tenant?: TenantRuntime;
  toolset?: ToolsetRuntime;
  metaTool: boolean;
  /** decide: the caller's connection at the tool's OAuth service (null: none; undefined: not an OAuth service). */
  connection?: ConnectionRecord | null;
  /** decide: the admitted tool, its checked arguments, whether it needs approval; and its service. */
  decision?: ToolCallDecision;
  service?: ServiceRuntime;
  /** limits: releases the call's concurrency slots. */
  release?: ReleaseLimits;
  /** Past every policy step (limits and approval included): a write may now reach the upstream. */
  admitted: boolean;
  /** cache: the slot of a cacheable read, and what a hit holds. */
  read?: { readonly slot: CacheSlot; readonly generation: number; readonly ttlSeconds: number };
  /** credential: the credential sent (after a refresh: the refreshed one). */
  credential?: ResolvedCredential;
  /** send (or a cache hit): the first page of the answer, scrubbed. */
  page?: FetchedPage;
  /** send: redacts every secret of the credential sent, from everything the model can see. */
  scrub?: (text: string) => string;
  upstreamStatus: number | null;
  cached: boolean;
  /** shape: the answer did not match the tool's declared output schema (noted in the audit record's detail). */
  outputUnmatched: boolean;
}

/** The context of a call about to start. */
export function openCall(
  clock: Clock,
  caller: Caller,
  name: string,
  args: unknown,
  requestId: string,
  relay?: CallRelay,
): CallContext {
  return {
    caller,
    requestId,
    ...(relay === undefined ? {} : { relay }),
    started: clock.monotonic(),
    name,
    args,
    metaTool: false,
    admitted: false,
    upstreamStatus: null,
    cached: false,
    outputUnmatched: false,
  };
}

/** The admitted tool of a call past the decide step (a meta-tool has none). */
export function toolOf(call: CallContext): { readonly tool: NamedTool; readonly service: ServiceRuntime } {
  if (call.decision === undefined || call.service === undefined) throw new Error('callTool: no admitted tool yet');
  return { tool: call.decision.tool, service: call.service };
}
