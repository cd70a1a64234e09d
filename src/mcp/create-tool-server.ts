import {
  type CallToolResult,
  type Implementation,
  ProtocolError,
  ProtocolErrorCode,
  Server,
  type Tool,
} from '@modelcontextprotocol/server';
import { continueTrace } from '../audit/index.ts';
import { toGatehouseError } from '../core/index.ts';
import type { Caller, CallOutcome, CallRelay, Gateway, ListedTool } from '../gateway/index.ts';
import { federatedCapabilitiesOf, serveFederatedFeatures } from './serve-federated-features.ts';
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
  /** Aborted when the client cancels this exchange's call (`notifications/cancelled` in another POST, or it left). */
  readonly cancel?: AbortSignal;
}

/**
 * Builds the SDK server instance for one exchange (the SDK's stateless serving wants a fresh instance per
 * request). It serves `tools/list` from `gateway.listTools(caller)` and `tools/call` through
 * `gateway.callTool()`, so nothing is cached across callers; and the federated resources and prompts of the
 * caller's toolset when it has some (`serveFederatedFeatures`). The low-level `Server` is used rather than
 * `McpServer` because tool schemas are JSON Schema owned by the gateway (which validates arguments with
 * precompiled validators); the SDK must not compile a validator per request.
 */
export function createToolServer(context: ToolServerContext): Server {
  const { gateway, caller, requestId } = context;
  const federated = federatedCapabilitiesOf(gateway, caller);
  const server = new Server(context.serverInfo, { capabilities: { tools: {}, ...federated } });
  serveFederatedFeatures(server, context, federated);
  server.setRequestHandler('tools/list', async () => {
    try {
      const tools = await gateway.listTools(caller);
      return { tools: tools.map(toSdkTool) };
    } catch (error) {
      // A thrown message may carry internals; the client gets the GatehouseError message only.
      throw new ProtocolError(ProtocolErrorCode.InternalError, toGatehouseError(error).message);
    }
  });
  server.setRequestHandler('tools/call', async (request, ctx): Promise<CallToolResult> => {
    const name = request.params.name;
    const traceparent = request.params._meta?.['traceparent'] ?? context.traceparent;
    const progressToken = request.params._meta?.progressToken;
    const relay: CallRelay = {
      signal: context.cancel === undefined ? ctx.mcpReq.signal : AbortSignal.any([ctx.mcpReq.signal, context.cancel]),
      ...(progressToken === undefined
        ? {}
        : {
            onProgress: (progress) => {
              ctx.mcpReq
                .notify({ method: 'notifications/progress', params: { progressToken, ...progress } })
                .catch(() => {});
            },
          }),
    };
    const outcome = await callToolSafely(
      gateway,
      caller,
      name,
      request.params.arguments ?? {},
      requestId,
      traceparent,
      relay,
    );
    if (!outcome.ok && outcome.error.code === 'tool_not_found') {
      throw new ProtocolError(ProtocolErrorCode.InvalidParams, toUnknownToolMessage(name));
    }
    const elicitation = toUrlElicitationError(outcome, request.params._meta);
    if (elicitation !== undefined) throw new ProtocolError(elicitation.code, elicitation.message, elicitation.data);
    // Federated content blocks were checked by the SDK client that received them; the rest is built here.
    return toCallToolResult(outcome) as CallToolResult;
  });
  return server;
}

/**
 * `Gateway.callTool` never throws by contract; a broken implementation still yields an `internal` tool error.
 * The call joins the agent's trace when `traceparent` (from `_meta`, else the HTTP header) is valid. `relay`: the
 * client's cancellation and progress token (relayed to a federated tool's server).
 */
export async function callToolSafely(
  gateway: Gateway,
  caller: Caller,
  name: string,
  args: unknown,
  requestId: string,
  traceparent?: unknown,
  relay?: CallRelay,
): Promise<CallOutcome> {
  try {
    return await continueTrace(traceparent, () => gateway.callTool(caller, name, args, requestId, relay));
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
