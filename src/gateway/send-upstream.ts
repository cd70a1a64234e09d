import { type AuditLog, createScrubber, type Scrubber } from '../audit/index.ts';
import { GatehouseError, type ServiceAuthConfig } from '../core/index.ts';
import { type RefreshEngine, refreshAndRetry } from '../oauth/index.ts';
import { validateArguments } from '../policy/index.ts';
import { type ResultCache, scrubFederated, toFederatedPage, toToolPage } from '../shaping/index.ts';
import {
  applyCredential,
  applyFixedHeaders,
  buildRequest,
  listCredentialSecrets,
  type McpCallAnswer,
  type McpUpstream,
  readProtocolAnswer,
  type UpstreamCall,
  type UpstreamClient,
  type UpstreamCredential,
  type UpstreamResponse,
} from '../upstream/index.ts';
import { endpointOf, headersOf, mcpTargetOf } from './build-tenants.ts';
import type { CallContext } from './call-context.ts';
import { toolOf } from './call-context.ts';
import type { ServerQuestion } from './contract.ts';
import { toOAuthCredential } from './credentials.ts';
import { invalidateReads } from './read-cache.ts';
import { toAuditedCall } from './record-outcome.ts';
import { relayServerLog } from './relay-server-log.ts';
import { scrubUpstreamError } from './scrub-upstream-error.ts';
import type { FetchedPage } from './shape-result.ts';

export interface SendUpstreamDependencies {
  readonly upstream: UpstreamClient;
  /** The MCP client of federated services (`mcp:`); absent in gateways built without one (tests). */
  readonly mcpUpstream?: Pick<McpUpstream, 'callTool'>;
  readonly audit: Pick<AuditLog, 'recordToolIntent'>;
  readonly cache: ResultCache;
  readonly refresh: {
    readonly engine: Pick<RefreshEngine, 'ensureFresh'>;
    /** True for services whose 401s get one forced refresh and one retry (user connections, OA-16). */
    refreshesOn401(auth: ServiceAuthConfig): boolean;
  };
}

/**
 * Step "send" of `callTool`: for a call with side effects, first drops the connection's cached reads of the
 * service (CA-03) and commits the intent record (AU-03); then sends the request (built and the credential applied
 * once per send) with the one refresh-and-retry of a user connection (`refreshAndRetry`, OA-16: on a 401 one
 * forced refresh naming the refused token's version, one retry). Sets the upstream status, the call's scrubber
 * (every secret of the credential sent) and the first page, scrubbed once (`toToolPage`: body, JSON and `link`
 * header, RS-01); a non-2xx answer, GraphQL `errors` and a SOAP Fault throw `upstream_error` (`readProtocolAnswer`).
 */
export async function sendUpstream(deps: SendUpstreamDependencies, call: CallContext): Promise<void> {
  const { tool } = toolOf(call);
  const args = call.decision?.args ?? {};
  const writes = tool.tool.safety !== 'safe';
  if (writes) {
    await invalidateReads(deps.cache, call);
    await deps.audit.recordToolIntent(toAuditedCall(call));
  }
  let answer: UpstreamResponse;
  try {
    if (tool.tool.request.mcp !== undefined) {
      await sendFederated(deps, call, tool.tool.request.mcp.tool, args);
      return;
    }
    answer = await sendWithOneRefresh(deps, call, (credential) =>
      deps.upstream.send(toUpstreamCall(call, args, credential)),
    );
  } finally {
    // CA-03: reads that raced with the write are dropped again once it was sent.
    if (writes) await invalidateReads(deps.cache, call, true);
  }
  call.upstreamStatus = answer.status;
  // RS-01: each answer is scrubbed once, here; hints, merged pages and cache entries are built from that.
  call.scrub = createScrubber(listCredentialSecrets(credentialOf(call)));
  call.page = toToolPage(readProtocolAnswer(tool.tool, answer, tool.name, call.scrub), tool.name, call.scrub);
}

/**
 * Another page of the call (`autoPaginate`): the arguments validated again, sent with the call's credential (no
 * refresh: the first page just proved the token), scrubbed with the call's scrubber.
 */
export async function sendPage(
  deps: Pick<SendUpstreamDependencies, 'upstream'>,
  call: CallContext,
  pageArgs: Readonly<Record<string, unknown>>,
): Promise<FetchedPage> {
  const { tool } = toolOf(call);
  const checked = validateArguments(tool.tool, pageArgs);
  const page = await deps.upstream.send(toUpstreamCall(call, checked, credentialOf(call)));
  const scrub = call.scrub ?? createScrubber(listCredentialSecrets(credentialOf(call)));
  return toToolPage(readProtocolAnswer(tool.tool, page, tool.name, scrub), tool.name, scrub);
}

/**
 * The send of a federated MCP tool: a `tools/call` of the remote tool with the checked arguments, on the session of
 * the call's credential (one refresh and retry on a 401, as for HTTP tools); the result is scrubbed once and kept
 * as the server sent it (`toFederatedPage`). A refused static credential is an `upstream_error` naming the status.
 */
async function sendFederated(
  deps: SendUpstreamDependencies,
  call: CallContext,
  remoteTool: string,
  args: Readonly<Record<string, unknown>>,
): Promise<void> {
  const { tool, service } = toolOf(call);
  const mcp = deps.mcpUpstream;
  if (mcp === undefined) throw new Error('callTool: a federated tool needs the MCP upstream client');
  const relay = call.relay;
  const cancellation = relay?.cancellation;
  // The MCP client cancels by a signal (it tells the server); made only for federated calls the client may cancel.
  const controller = cancellation === undefined ? undefined : new AbortController();
  const abort = (reason: string) => controller?.abort(new Error(reason));
  if (cancellation?.reason !== undefined) abort(cancellation.reason);
  else if (cancellation !== undefined) cancellation.onCancel = abort;
  // The server's log messages, questions and progress messages reach the client scrubbed of the credential sent
  // (after a refresh: the refreshed one), a question's `_meta` without the keys the gateway owns, as a result is.
  const { log: clientLog, ask: clientAsk, onProgress: clientProgress, ...relayed } = relay ?? {};
  // One scrubber per credential sent, built again only when a refresh replaced it (not per relayed message).
  let scrubbing: { readonly credential: UpstreamCredential; readonly scrub: Scrubber } | undefined;
  const scrubber = () => {
    const credential = credentialOf(call);
    if (scrubbing?.credential !== credential) {
      scrubbing = { credential, scrub: createScrubber(listCredentialSecrets(credential)) };
    }
    return scrubbing.scrub;
  };
  const log = clientLog === undefined ? undefined : relayServerLog(clientLog, scrubber);
  const ask =
    clientAsk === undefined
      ? undefined
      : (question: ServerQuestion) => {
          const refused = unsafeUrlRefusalOf(question);
          if (refused !== undefined) return Promise.reject(refused);
          return clientAsk({ method: question.method, params: scrubFederated(question.params, scrubber()) ?? {} });
        };
  let progressRelayed = 0;
  const onProgress =
    clientProgress === undefined
      ? undefined
      : (progress: Parameters<typeof clientProgress>[0]) => {
          if (++progressRelayed > maxRelayedProgress) return;
          clientProgress(
            progress.message === undefined
              ? progress
              : { ...progress, message: toBoundedProgressMessage(scrubber()(progress.message)) },
          );
        };
  const options = {
    ...relayed,
    inputSchema: tool.tool.inputSchema,
    scrub: (text: string) => scrubber()(text),
    ...(ask === undefined ? {} : { ask }),
    ...(onProgress === undefined ? {} : { onProgress }),
    ...(controller === undefined ? {} : { signal: controller.signal }),
    ...(log === undefined ? {} : { log }),
  };
  let answer: McpCallAnswer;
  try {
    answer = await sendWithOneRefresh(deps, call, (credential) =>
      mcp.callTool(mcpTargetOf(call.caller.tenant, service, credential), remoteTool, args, options),
    );
  } catch (error) {
    // The server's own error text is in the message: scrubbed as its results are.
    throw scrubUpstreamError(error, scrubber());
  } finally {
    if (cancellation !== undefined && cancellation.onCancel === abort) cancellation.onCancel = undefined;
  }
  call.upstreamStatus = answer.status;
  if (answer.result === undefined) {
    throw new GatehouseError('upstream_error', `The MCP server of ${service.id} refused the gateway's credential`, {
      service: service.id,
      status: answer.status,
    });
  }
  call.scrub = scrubber();
  call.page = toFederatedPage(answer.result, tool.name, call.scrub);
}

/**
 * Progress notices a federated server's call may relay to the client; past them the rest are dropped as they arrive
 * (the result still comes). A server sending them by the thousand would otherwise have the gateway write each to
 * the client's stream, as it would log messages (which are bounded at 100, `relayServerLog`).
 */
const maxRelayedProgress = 1_000;
/** A relayed progress message is a status line: longer ones are cut, saying so. */
const maxProgressMessageChars = 1_000;
const progressCutNote = '… (cut by the gateway)';
function toBoundedProgressMessage(message: string): string {
  return message.length <= maxProgressMessageChars
    ? message
    : `${message.slice(0, maxProgressMessageChars - progressCutNote.length)}${progressCutNote}`;
}

/** Sends with the call's credential; a user connection's 401 gets one forced refresh and one retry (OA-16). */
async function sendWithOneRefresh<T extends { readonly status: number }>(
  deps: SendUpstreamDependencies,
  call: CallContext,
  send: (credential: UpstreamCredential) => Promise<T>,
): Promise<T> {
  const { service } = toolOf(call);
  const resolved = call.credential;
  if (
    resolved?.token === undefined ||
    resolved.connectionId === undefined ||
    !deps.refresh.refreshesOn401(service.auth)
  )
    return send(credentialOf(call));
  const { connectionId } = resolved;
  return refreshAndRetry(
    deps.refresh.engine,
    call.caller.tenant,
    connectionId,
    (token) => {
      // The credential sent is the one the scrubber and further pages use.
      call.credential = {
        credential: toOAuthCredential(service.auth, token.accessToken),
        connectionId,
        token,
        variables: token.variables,
      };
      return send(call.credential.credential);
    },
    resolved.token,
  );
}

/** The one place a request is built and its credential applied: once per send. */
function toUpstreamCall(
  call: CallContext,
  args: Readonly<Record<string, unknown>>,
  credential: UpstreamCredential,
): UpstreamCall {
  const { tool, service } = toolOf(call);
  const endpoint = endpointOf(service, call.credential?.variables);
  const built = applyCredential(
    applyFixedHeaders(buildRequest(tool.tool, endpoint.baseUrl, args), headersOf(service, call.credential?.variables)),
    credential,
  );
  return {
    // MT-08: breakers and connection shares are kept per tenant and service.
    tenant: call.caller.tenant,
    service: service.id,
    method: built.method,
    url: built.url,
    headers: built.headers,
    body: built.body,
    contentType: built.contentType,
    timeoutMs: service.timeoutMs,
    connectTimeoutMs: service.connectTimeoutMs,
    maxResponseBytes: service.maxResponseBytes,
    allowedOrigin: endpoint.allowedOrigin,
    safety: tool.tool.safety,
    retry: service.retry,
    // The client's cancellation (`notifications/cancelled`, or its request closed) ends the upstream request too.
    cancellation: call.relay?.cancellation,
  };
}

function credentialOf(call: CallContext): UpstreamCredential {
  if (call.credential === undefined) throw new Error('callTool: no credential resolved');
  return call.credential.credential;
}

/**
 * A federated server's URL-mode elicitation reaches the client only with an `http:` or `https:` URL: a client opens
 * what it is given for the user to see, and another scheme (`javascript:`, `data:`, `file:`, an application's own
 * such as `vscode:`) would act on the user's machine instead of showing a page (finding url_elicitation_any_scheme).
 * The error the server gets instead (undefined: relay it); the URL itself is not repeated.
 */
function unsafeUrlRefusalOf(question: ServerQuestion): Error | undefined {
  if (question.method !== 'elicitation/create' || question.params['mode'] !== 'url') return undefined;
  const url = question.params['url'];
  const scheme = typeof url === 'string' ? URL.parse(url)?.protocol : undefined;
  if (scheme === 'https:' || scheme === 'http:') return undefined;
  return new Error(
    scheme === undefined
      ? 'The gateway relays a URL elicitation only with an absolute http(s) URL; this one is not a URL'
      : `The gateway relays a URL elicitation only with an http(s) URL, not ${scheme.slice(0, 32)}`,
  );
}
