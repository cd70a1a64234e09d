import {
  type CallToolResult,
  CLIENT_CAPABILITIES_META_KEY,
  type Implementation,
  ProtocolError,
  ProtocolErrorCode,
  Server,
  type Tool,
} from '@modelcontextprotocol/server';
import { continueTrace } from '../audit/index.ts';
import { type CallCancellation, cancelCall, createCallCancellation, toGatehouseError } from '../core/index.ts';
import type { Caller, CallOutcome, CallRelay, Gateway, ListedTool, ServerQuestion } from '../gateway/index.ts';
import { forwardedMetaOption } from './forwarded-meta.ts';
import { type ClientInputRelay, type NextRound, type RelayedCall, relayedToolOf } from './relay-client-input.ts';
import { federatedCapabilitiesOf, logRelayOf, serveFederatedFeatures } from './serve-federated-features.ts';
import { toCallToolResult, toUnknownToolMessage } from './to-call-tool-result.ts';
import { askForUrl, declinedUrlInputs, requestMetaOf } from './to-url-input-required.ts';
import type { UrlInputKey } from './url-elicitation-of.ts';

/** What one SDK-served exchange knows about its request: the verified caller and the request id for audit. */
export interface ToolServerContext {
  readonly gateway: Gateway;
  readonly caller: Caller;
  readonly requestId: string;
  readonly serverInfo: Implementation;
  /** The HTTP `traceparent` header, for calls whose `_meta` carries none. */
  readonly traceparent?: string | string[] | undefined;
  /** Cancelled when the client cancels this exchange's call (`notifications/cancelled` in another POST, or it left). */
  readonly cancel?: CallCancellation;
  /** Federated servers' questions relayed to 2026-07-28 clients (shared by the endpoint's exchanges). */
  readonly inputRelay?: ClientInputRelay;
  /** The exchange speaks 2026-07-28 (a per-request log level exists: the endpoint may declare `logging`). */
  readonly modern?: boolean;
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
  // Calls that wait for a person's approval can run as tasks (2025-11-25 tasks utility, served by
  // `serveTaskRequest`): any tool may need one, depending on the toolset's rules and the arguments.
  const tasks = gateway.approvalTasks !== undefined;
  const federated = federatedCapabilitiesOf(gateway, caller, context.modern === true);
  const capabilities = tasks
    ? { tools: {}, tasks: { requests: { tools: { call: {} } }, cancel: {} }, ...federated }
    : { tools: {}, ...federated };
  const server = new Server(context.serverInfo, { capabilities });
  serveFederatedFeatures(server, context, federated);
  server.setRequestHandler('tools/list', async () => {
    try {
      const tools = (await gateway.listTools(caller)).map(toSdkTool);
      return {
        tools,
      };
    } catch (error) {
      // A thrown message may carry internals; the client gets the GatehouseError message only.
      throw new ProtocolError(ProtocolErrorCode.InternalError, toGatehouseError(error).message);
    }
  });
  server.setRequestHandler('tools/call', async (request, ctx) => {
    const name = request.params.name;
    const traceparent = request.params._meta?.['traceparent'] ?? context.traceparent;
    const progressToken = request.params._meta?.progressToken;
    const log = logRelayOf(ctx.mcpReq, federated);
    // The retry of a call whose URL elicitation the user declined or cancelled ends with its tool error.
    const declined = declinedUrlInputs(ctx.mcpReq.inputResponses);
    if (declined.has('approval')) await withdrawDeclinedApproval(gateway, caller, ctx.mcpReq.requestState());
    const relayed = await relayedCallOf(context, ctx.mcpReq, name, request.params.arguments ?? {});
    if (relayed !== undefined && 'resumed' in relayed) return answerRound(relayed.resumed);
    const relay: CallRelay = {
      ...forwardedMetaOption(request.params._meta),
      // A call whose client may be asked outlives this request (the client answers in a retry): no cancel relay.
      ...(relayed !== undefined
        ? { ask: relayed.ask }
        : { cancellation: cancellationOf(context.cancel, ctx.mcpReq.signal) }),
      ...(progressToken === undefined
        ? {}
        : {
            onProgress: (progress) => {
              ctx.mcpReq
                .notify({ method: 'notifications/progress', params: { progressToken, ...progress } })
                .catch(() => {});
            },
          }),
      ...(log === undefined ? {} : { log }),
    };
    const called = callToolSafely(gateway, caller, name, request.params.arguments ?? {}, requestId, traceparent, relay);
    const meta = requestMetaOf(request.params._meta, ctx.mcpReq.envelope);
    if (relayed === undefined) return toToolsCallAnswer(name, await called, meta, declined);
    void called.then(
      (outcome) => {
        try {
          relayed.call.finish(toToolsCallAnswer(name, outcome, meta, declined));
        } catch (error) {
          relayed.call.finish(error as Error);
        }
      },
      (error: unknown) => relayed.call.finish(error as Error),
    );
    return answerRound(await relayed.call.next());
  });
  return server;
}

/**
 * The call's cancellation: the endpoint's (the client's `notifications/cancelled` in another POST, or its request
 * closed), also cancelled when the SDK aborts its own request (this path is off the fast path: a listener is fine).
 */
function cancellationOf(endpoint: CallCancellation | undefined, sdk: AbortSignal): CallCancellation {
  const cancellation = endpoint ?? createCallCancellation();
  const cancel = () => cancelCall(cancellation, reasonOf(sdk.reason));
  if (sdk.aborted) cancel();
  else sdk.addEventListener('abort', cancel, { once: true });
  return cancellation;
}

function reasonOf(reason: unknown): string {
  if (reason instanceof Error) return reason.message;
  return typeof reason === 'string' ? reason : 'cancelled';
}

/**
 * A tools/call outcome as its answer: the result, the `input_required` of a page to open (an approval, a connect
 * link; 2026-07-28) unless the user `declined` it in this retry, or the protocol error of an unknown tool or a URL
 * elicitation (2025 era).
 */
function toToolsCallAnswer(
  name: string,
  outcome: CallOutcome,
  meta: Record<string, unknown> | undefined,
  declined: ReadonlySet<UrlInputKey>,
): CallToolResult {
  if (!outcome.ok && outcome.error.code === 'tool_not_found') {
    throw new ProtocolError(ProtocolErrorCode.InvalidParams, toUnknownToolMessage(name, outcome.error));
  }
  const asked = askForUrl(outcome, meta, declined);
  if (asked !== undefined) return asked as unknown as CallToolResult;
  // Federated content blocks were checked by the SDK client that received them; the rest is built here.
  return toCallToolResult(outcome) as CallToolResult;
}

function answerRound(round: NextRound) {
  if (round.kind === 'ask') return round.result as never;
  if (round.result instanceof Error) throw round.result;
  return round.result;
}

/**
 * A 2026-07-28 call whose server may ask its client: a retry of an earlier one (its `requestState` names the pending
 * call, here or on another process; its answers are delivered and its next round is `resumed`), or a new call of a
 * client that declared elicitation or sampling, whose server's questions it will be asked (`ask` refuses the kinds
 * the client did not declare). Undefined for every other call.
 */
async function relayedCallOf(
  context: ToolServerContext,
  request: {
    readonly envelope?: Readonly<Record<string, unknown>>;
    readonly inputResponses?: Record<string, unknown>;
    requestState(): unknown;
  },
  name: string,
  args: unknown,
): Promise<{ resumed: NextRound } | { call: RelayedCall; ask: NonNullable<CallRelay['ask']> } | undefined> {
  const { inputRelay, caller, gateway } = context;
  if (inputRelay === undefined) return undefined;
  const state = request.requestState();
  if (inputRelay.isRelayState(state)) {
    // A retry is a request of the key's like any call: past its rate limit, its answers go nowhere.
    try {
      await gateway.admitRelayedRetry?.(caller, name, args);
    } catch (error) {
      const refused = toCallToolResult({ ok: false, error: toGatehouseError(error) }) as CallToolResult;
      return { resumed: { kind: 'done', result: refused } };
    }
  }
  // A state that is not one of the relay's (an approval's retry) starts the call anew.
  // Bound to the toolset and tool of its call: a retry naming another is refused, never charged as that one.
  const tool = relayedToolOf(name, args);
  const resumed = await inputRelay.resume(caller, state, request.inputResponses, tool);
  if (resumed !== undefined) return { resumed };
  const declared = request.envelope?.[CLIENT_CAPABILITIES_META_KEY] as Record<string, unknown> | undefined;
  if (declared === undefined) return undefined;
  const elicitation = declared['elicitation'] as Record<string, unknown> | undefined;
  const canAsk = (question: ServerQuestion) =>
    question.method === 'sampling/createMessage'
      ? declared['sampling'] !== undefined
      : elicitation !== undefined && (question.params['mode'] === 'url' ? elicitation['url'] !== undefined : true);
  if (declared['sampling'] === undefined && elicitation === undefined) return undefined;
  const call = inputRelay.open(caller, tool);
  return {
    call,
    ask: (question) =>
      canAsk(question)
        ? call.ask(question)
        : Promise.reject(new Error(`The client did not declare the capability ${question.method} needs`)),
  };
}

/**
 * The retry of a call whose approval elicitation the user declined or cancelled (2026-07-28, see
 * `toUrlInputRequired`): the agent's side withdraws its own request, a denial; the call then ends
 * `approval_denied`. `requestState` is the client's echo, so it is only ever used to deny the caller's own request.
 */
async function withdrawDeclinedApproval(gateway: Gateway, caller: Caller, requestState: unknown): Promise<void> {
  if (gateway.approvals === undefined || typeof requestState !== 'string') return;
  await gateway.approvals.withdraw(caller, requestState);
}

/**
 * `Gateway.callTool` never throws by contract; a broken implementation still yields an `internal` tool error.
 * The call joins the agent's trace when `traceparent` (from `_meta`, else the HTTP header) is valid. `relay`: the
 * client's cancellation (ends the upstream request) and progress token (relayed to a federated tool's server).
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
    return await continueTrace(traceparent, () =>
      gateway.callTool(caller, name, args, requestId, relay === undefined ? undefined : { relay }),
    );
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
  if (tool.execution !== undefined) listed.execution = { ...tool.execution };
  return listed;
}
