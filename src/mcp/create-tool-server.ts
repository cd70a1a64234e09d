import {
  type CallToolResult,
  type Implementation,
  inputResponse,
  ProtocolError,
  ProtocolErrorCode,
  Server,
  type Tool,
} from '@modelcontextprotocol/server';
import { continueTrace } from '../audit/index.ts';
import { toGatehouseError } from '../core/index.ts';
import type { Caller, CallOutcome, Gateway, ListedTool } from '../gateway/index.ts';
import { approvalInputKey, toApprovalInputRequired } from './to-approval-input-required.ts';
import { toCallToolResult, toUnknownToolMessage } from './to-call-tool-result.ts';
import { toUrlElicitationError } from './to-url-elicitation-error.ts';

/** What one SDK-served exchange knows about its request: the verified caller and the request id for audit. */
export interface ToolServerContext {
  readonly gateway: Gateway;
  readonly caller: Caller;
  readonly requestId: string;
  readonly serverInfo: Implementation;
  /** The HTTP `traceparent` header, for calls whose `_meta` carries none. */
  readonly traceparent?: string | string[] | undefined;
}

/**
 * Builds the SDK server instance for one exchange (the SDK's stateless serving wants a fresh instance per
 * request). It serves `tools/list` from `gateway.listTools(caller)` and `tools/call` through
 * `gateway.callTool()`, so nothing is cached across callers. The low-level `Server` is used rather than
 * `McpServer` because tool schemas are JSON Schema owned by the gateway (which validates arguments with
 * precompiled validators); the SDK must not compile a validator per request.
 */
export function createToolServer(context: ToolServerContext): Server {
  const { gateway, caller, requestId } = context;
  // Calls that wait for a person's approval can run as tasks (2025-11-25 tasks utility, served by
  // `serveTaskRequest`): any tool may need one, depending on the toolset's rules and the arguments.
  const tasks = gateway.approvalTasks !== undefined;
  const capabilities = tasks ? { tools: {}, tasks: { requests: { tools: { call: {} } }, cancel: {} } } : { tools: {} };
  const server = new Server(context.serverInfo, { capabilities });
  server.setRequestHandler('tools/list', async () => {
    try {
      const tools = (await gateway.listTools(caller)).map(toSdkTool);
      return {
        tools: tasks ? tools.map((tool) => ({ ...tool, execution: { taskSupport: 'optional' as const } })) : tools,
      };
    } catch (error) {
      // A thrown message may carry internals; the client gets the GatehouseError message only.
      throw new ProtocolError(ProtocolErrorCode.InternalError, toGatehouseError(error).message);
    }
  });
  server.setRequestHandler('tools/call', async (request, ctx): Promise<CallToolResult> => {
    const name = request.params.name;
    const traceparent = request.params._meta?.['traceparent'] ?? context.traceparent;
    await withdrawDeclinedApproval(gateway, caller, ctx.mcpReq.inputResponses, ctx.mcpReq.requestState());
    const outcome = await callToolSafely(gateway, caller, name, request.params.arguments ?? {}, requestId, traceparent);
    if (!outcome.ok && outcome.error.code === 'tool_not_found') {
      throw new ProtocolError(ProtocolErrorCode.InvalidParams, toUnknownToolMessage(name));
    }
    const elicitation = toUrlElicitationError(outcome, request.params._meta);
    if (elicitation !== undefined) throw new ProtocolError(elicitation.code, elicitation.message, elicitation.data);
    // On 2026-07-28 the SDK lifts the reserved envelope keys (client capabilities among them) out of `_meta`.
    const asked = toApprovalInputRequired(outcome, { ...request.params._meta, ...ctx.mcpReq.envelope });
    if (asked !== undefined) return asked as unknown as CallToolResult;
    // Federated content blocks were checked by the SDK client that received them; the rest is built here.
    return toCallToolResult(outcome) as CallToolResult;
  });
  return server;
}

/**
 * The retry of a call whose approval elicitation the user declined or cancelled (2026-07-28, see
 * `toApprovalInputRequired`): the agent's side withdraws its own request, a denial; the call then ends
 * `approval_denied`. `requestState` is the client's echo, so it is only ever used to deny the caller's own request.
 */
async function withdrawDeclinedApproval(
  gateway: Gateway,
  caller: Caller,
  responses: unknown,
  requestState: unknown,
): Promise<void> {
  if (gateway.approvals === undefined || typeof requestState !== 'string') return;
  const response = inputResponse(responses as Record<string, unknown> | undefined, approvalInputKey);
  if (response.kind === 'elicit' && response.action !== 'accept')
    await gateway.approvals.withdraw(caller, requestState);
}

/**
 * `Gateway.callTool` never throws by contract; a broken implementation still yields an `internal` tool error.
 * The call joins the agent's trace when `traceparent` (from `_meta`, else the HTTP header) is valid.
 */
export async function callToolSafely(
  gateway: Gateway,
  caller: Caller,
  name: string,
  args: unknown,
  requestId: string,
  traceparent?: unknown,
): Promise<CallOutcome> {
  try {
    return await continueTrace(traceparent, () => gateway.callTool(caller, name, args, requestId));
  } catch (error) {
    return { ok: false, error: toGatehouseError(error) };
  }
}

function toSdkTool(tool: ListedTool): Tool {
  const listed: Tool = {
    name: tool.name,
    title: tool.title,
    description: tool.description,
    inputSchema: tool.inputSchema as Tool['inputSchema'],
    annotations: { ...tool.annotations },
  };
  if (tool.outputSchema !== undefined) listed.outputSchema = tool.outputSchema as Tool['outputSchema'];
  return listed;
}
