import {
  type CompleteResult,
  type GetPromptResult,
  LOG_LEVEL_META_KEY,
  ProtocolError,
  ProtocolErrorCode,
  type ReadResourceResult,
  ResourceNotFoundError,
  type Server,
  type ServerContext,
} from '@modelcontextprotocol/server';
import type { GatehouseError } from '../core/index.ts';
import { type Caller, type CallRelay, type FederatedOutcome, type Gateway, toLogLevel } from '../gateway/index.ts';
import { askForUrl, declinedUrlInputs, requestMetaOf, type UrlInputRequired } from './to-url-input-required.ts';

/** Items per page of `resources/list`, `resources/templates/list` and `prompts/list`. */
export const featurePageSize = 100;

/** The capabilities of a toolset's endpoint beyond tools. */
export interface FederatedServerCapabilities {
  resources?: object;
  prompts?: object;
  completions?: Record<string, never>;
  logging?: Record<string, never>;
}

/**
 * The capabilities of a toolset's endpoint beyond tools: `resources` and `prompts` when its federated services
 * offer some (never `subscribe` or `listChanged`: the endpoint is stateless and keeps no stream to notify on),
 * `completions` when one of them answers `completion/complete` for a prompt or resource it exposes, and `logging`
 * on a 2026-07-28 exchange (`modern`) when it exposes a federated tool: that era's per-request log level is
 * honoured (the server's messages of the call are relayed). Never to a 2025-era client: its level is set once per
 * session (`logging/setLevel`), which the stateless endpoint does not keep.
 */
export function federatedCapabilitiesOf(gateway: Gateway, caller: Caller, modern = false): FederatedServerCapabilities {
  const declared = gateway.federatedCapabilities?.(caller);
  return {
    ...(declared?.resources ? { resources: {} } : {}),
    ...(declared?.prompts ? { prompts: {} } : {}),
    ...(declared?.completions ? { completions: {} } : {}),
    ...(modern && declared?.logging ? { logging: {} } : {}),
  };
}

/**
 * The client's per-request log level (2026-07-28: the SDK lifted and checked it out of `_meta` into the envelope)
 * and where the server's messages go: this request's answer stream, as progress. Undefined for a request without a
 * level, and where the endpoint does not declare `logging` (every 2025-era exchange).
 */
export function logRelayOf(
  request: Pick<ServerContext['mcpReq'], 'envelope' | 'notify'>,
  capabilities: FederatedServerCapabilities,
): CallRelay['log'] {
  const level = toLogLevel((request.envelope as Record<string, unknown> | undefined)?.[LOG_LEVEL_META_KEY]);
  if (level === undefined || capabilities.logging === undefined) return undefined;
  return {
    level,
    onMessage: (message) => {
      request.notify({ method: 'notifications/message', params: { ...message } }).catch(() => {});
    },
  };
}

/**
 * Serves the federated resources and prompts of the caller's toolset on an SDK server of one exchange: the lists
 * (paged here, `featurePageSize` per page, the cursor an offset), `resources/read`, `prompts/get` and
 * `completion/complete` through the gateway (audited there). A resource the toolset does not reach answers the
 * SDK's resource-not-found error, an unknown prompt, completion ref or a bad argument `-32602`, a read or prompt
 * that needs a connect or step-up link the URL elicitation its client declared (`askOrRefuse`), anything else
 * `-32603` with the gateway's message and code.
 */
export function serveFederatedFeatures(
  server: Server,
  context: { readonly gateway: Gateway; readonly caller: Caller; readonly requestId: string },
  capabilities: FederatedServerCapabilities,
): void {
  const { gateway, caller, requestId } = context;
  if (capabilities.resources !== undefined) {
    server.setRequestHandler('resources/list', async (request) => {
      const page = pageOf(gateway.listResources?.(caller) ?? [], request.params?.cursor);
      return { resources: [...page.items], ...page.next };
    });
    server.setRequestHandler('resources/templates/list', async (request) => {
      const page = pageOf(gateway.listResourceTemplates?.(caller) ?? [], request.params?.cursor);
      return { resourceTemplates: [...page.items], ...page.next };
    });
    server.setRequestHandler('resources/read', async (request, ctx): Promise<ReadResourceResult> => {
      const uri = request.params.uri;
      const log = logRelayOf(ctx.mcpReq, capabilities);
      const outcome = await readOrFail(gateway.readResource?.(caller, uri, requestId, log));
      if (!outcome.ok) {
        if (outcome.error.code === 'not_found') throw new ResourceNotFoundError(uri, outcome.error.message);
        return askOrRefuse(outcome, request.params._meta, ctx.mcpReq) as unknown as ReadResourceResult;
      }
      return outcome.result as ReadResourceResult;
    });
  }
  if (capabilities.prompts !== undefined) {
    server.setRequestHandler('prompts/list', async (request) => {
      const page = pageOf(gateway.listPrompts?.(caller) ?? [], request.params?.cursor);
      return {
        prompts: page.items.map((prompt) => ({ ...prompt, arguments: prompt.arguments?.map((a) => ({ ...a })) })),
        ...page.next,
      };
    });
    server.setRequestHandler('prompts/get', async (request, ctx): Promise<GetPromptResult> => {
      const { name } = request.params;
      const log = logRelayOf(ctx.mcpReq, capabilities);
      const outcome = await readOrFail(
        gateway.getPrompt?.(caller, name, request.params.arguments ?? {}, requestId, log),
      );
      if (!outcome.ok) {
        if (outcome.error.code === 'not_found' || outcome.error.code === 'invalid_arguments') {
          throw new ProtocolError(ProtocolErrorCode.InvalidParams, outcome.error.message);
        }
        return askOrRefuse(outcome, request.params._meta, ctx.mcpReq) as unknown as GetPromptResult;
      }
      return outcome.result as GetPromptResult;
    });
  }
  if (capabilities.completions !== undefined) {
    server.setRequestHandler('completion/complete', async (request): Promise<CompleteResult> => {
      const { ref, argument, context: given } = request.params;
      const outcome = await readOrFail(
        gateway.complete?.(
          caller,
          {
            ref: ref.type === 'ref/prompt' ? { type: ref.type, name: ref.name } : { type: ref.type, uri: ref.uri },
            argument: { name: argument.name, value: argument.value },
            ...(given?.arguments === undefined ? {} : { context: { arguments: given.arguments } }),
          },
          requestId,
        ),
      );
      if (!outcome.ok) {
        // MCP completion: an unknown prompt (or resource template) is -32602 Invalid params.
        if (outcome.error.code === 'not_found')
          throw new ProtocolError(ProtocolErrorCode.InvalidParams, outcome.error.message);
        throw toProtocolError(outcome.error);
      }
      return outcome.result as CompleteResult;
    });
  }
}

/** A page of a list: `cursor` is the offset of its first item (as the previous page's `nextCursor` said). */
function pageOf<T>(
  items: readonly T[],
  cursor: string | undefined,
): { readonly items: readonly T[]; readonly next: { nextCursor?: string } } {
  const start = cursor === undefined ? 0 : Number(cursor);
  if (!Number.isSafeInteger(start) || start < 0 || (cursor !== undefined && start >= items.length && start > 0)) {
    throw new ProtocolError(ProtocolErrorCode.InvalidParams, 'Invalid cursor');
  }
  const end = start + featurePageSize;
  return { items: items.slice(start, end), next: end < items.length ? { nextCursor: String(end) } : {} };
}

async function readOrFail(pending: Promise<FederatedOutcome> | undefined): Promise<FederatedOutcome> {
  if (pending === undefined) throw new ProtocolError(ProtocolErrorCode.MethodNotFound, 'Method not found');
  return pending;
}

/**
 * A federated `resources/read` or `prompts/get` refused: a connect, reconnect or step-up link is asked for as a tool
 * call asks it (`askForUrl`: `-32042` on 2025, `input_required` on 2026-07-28 unless declined in this retry);
 * anything else, and a declined link, is the protocol error, which carries the link in its details.
 */
function askOrRefuse(
  outcome: Extract<FederatedOutcome, { ok: false }>,
  meta: Readonly<Record<string, unknown>> | undefined,
  request: Pick<ServerContext['mcpReq'], 'envelope' | 'inputResponses'>,
): UrlInputRequired {
  const asked = askForUrl(outcome, requestMetaOf(meta, request.envelope), declinedUrlInputs(request.inputResponses));
  if (asked !== undefined) return asked;
  throw toProtocolError(outcome.error);
}

function toProtocolError(error: GatehouseError): ProtocolError {
  // The details are non-secret by contract (a rate limit's `retryAfterSeconds`, the service).
  return new ProtocolError(ProtocolErrorCode.InternalError, error.message, {
    code: error.code,
    details: error.details,
  });
}
