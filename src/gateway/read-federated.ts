import { type AuditLog, createScrubber, type Telemetry } from '../audit/index.ts';
import { matchesUriTemplate } from '../catalog/index.ts';
import {
  type Clock,
  decisionOf,
  GatehouseError,
  isGatehouseError,
  isPlainObject,
  toGatehouseError,
} from '../core/index.ts';
import { admitCallLimits, type ReleaseLimits } from '../policy/index.ts';
import { type ResultHandles, scrubFederatedAnswer, shapeToolResult } from '../shaping/index.ts';
import type { Limiter, Store } from '../store/index.ts';
import {
  listCredentialSecrets,
  type McpCallAnswer,
  type McpCallOptions,
  type McpTarget,
  type McpUpstream,
} from '../upstream/index.ts';
import { mcpTargetOf, type ServiceRuntime, type TenantRuntime, type ToolsetRuntime } from './build-tenants.ts';
import { connectionOf, subjectAt } from './connection-of.ts';
import type { Caller, CallRelay, CompletionRequest, FederatedOutcome } from './contract.ts';
import type { Credentials } from './credentials.ts';
import type { ExposedFeatures } from './expose-mcp-features.ts';
import { relayServerLog } from './relay-server-log.ts';
import { scrubUpstreamError } from './scrub-upstream-error.ts';

export interface FederatedReadDependencies {
  readonly tenants: ReadonlyMap<string, TenantRuntime>;
  readonly clock: Clock;
  readonly store: Pick<Store, 'connections'>;
  readonly credentials: Pick<Credentials, 'resolveCredential' | 'withConnectLink'>;
  readonly mcpUpstream?: Pick<McpUpstream, 'readResource' | 'getPrompt' | 'complete'>;
  readonly handles: ResultHandles;
  /** The rate and concurrency limits of tool calls, which count reads and gets too. */
  readonly limiter: Limiter;
  readonly audit: Pick<AuditLog, 'recordToolCall'>;
  readonly telemetry?: Pick<Telemetry, 'toolCall'>;
  readonly onAuditFailure?: (error: unknown) => void;
}

/** The longest resource URI an audit record keeps. */
const auditedUriMax = 500;

/**
 * `resources/read` of a federated resource. The URI goes to the service that lists it, else to the one whose
 * template matches it, else (a URI from a tool result's resource link) to the toolset's only resource service; a
 * URI no service of the toolset may serve, and one its server does not know, is `not_found`. The answer is scrubbed of every secret of the service's
 * credential, its text contents held to the toolset's result budget for `{service}_resources` (over it: one text
 * content with a result handle and a summary), and one audit record is written, whatever the end.
 */
export async function readResource(
  deps: FederatedReadDependencies,
  caller: Caller,
  uri: string,
  requestId: string,
  log?: CallRelay['log'],
): Promise<FederatedOutcome> {
  const started = deps.clock.monotonic();
  let audited: Audited = { tool: 'resources', method: 'resources/read', path: uri.slice(0, auditedUriMax) };
  let release: ReleaseLimits | undefined;
  try {
    const { tenant, toolset } = runtimeOf(deps, caller);
    const exposed = serviceOfUri(toolset.features, uri);
    if (exposed === undefined) {
      throw new GatehouseError('not_found', `Resource not found: ${uri.slice(0, 200)}`, { uri: uri.slice(0, 200) });
    }
    audited = { ...audited, tool: exposed.name };
    const service = serviceOf(tenant, exposed.service);
    release = await admitCallLimits(deps.limiter, toolset.limits, caller, exposed.name, service.leaseMs);
    const sent = await sendFederated(deps, caller, service, log, (mcp, target, options) =>
      mcp.readResource(target, uri, options),
    ).catch((error: unknown) => {
      // The server's own "no such resource" (-32002, or -32602 as 2026-07-28 servers answer) is the client's too.
      const rpcCode = isGatehouseError(error) ? error.details['rpcCode'] : undefined;
      if (rpcCode === -32002 || rpcCode === -32602) {
        throw new GatehouseError('not_found', `Resource not found: ${uri.slice(0, 200)}`, { uri: uri.slice(0, 200) });
      }
      throw error;
    });
    audited = { ...audited, upstreamStatus: sent.status };
    const contents = sent.result['contents'];
    if (!Array.isArray(contents) || !contents.every(isPlainObject)) {
      throw new GatehouseError('upstream_error', `The MCP server of ${service.id} answered a read without contents`, {
        service: service.id,
      });
    }
    const text = textOf(contents.map((content) => content['text']));
    const shaped = await withinBudget(deps, caller, toolset, exposed.name, text);
    const result =
      shaped === undefined
        ? { ...sent.result, contents }
        : { ...withoutKey(sent.result, 'contents'), contents: [{ uri, mimeType: 'text/plain', text: shaped }] };
    return await finish(deps, caller, requestId, started, audited, { ok: true, result });
  } catch (error) {
    return await finish(deps, caller, requestId, started, audited, { ok: false, error: toGatehouseError(error) });
  } finally {
    release?.();
  }
}

/**
 * `prompts/get` of a federated prompt by the name the toolset lists it under: its required arguments checked
 * (`invalid_arguments` naming the missing one), then as `readResource` (scrubbed, the text of its messages held to
 * the budget of the prompt's name, one audit record). A name the toolset does not list is `not_found`.
 */
export async function getPrompt(
  deps: FederatedReadDependencies,
  caller: Caller,
  name: string,
  args: unknown,
  requestId: string,
  log?: CallRelay['log'],
): Promise<FederatedOutcome> {
  const started = deps.clock.monotonic();
  let audited: Audited = { tool: name.slice(0, 128), method: 'prompts/get', path: null };
  let release: ReleaseLimits | undefined;
  try {
    const { tenant, toolset } = runtimeOf(deps, caller);
    const exposed = toolset.features.prompts.get(name);
    if (exposed === undefined) throw new GatehouseError('not_found', `Unknown prompt: ${name.slice(0, 128)}`);
    audited = { ...audited, path: `prompts/get ${exposed.prompt.name}` };
    const checked = promptArguments(exposed.prompt.arguments ?? [], args);
    const service = serviceOf(tenant, exposed.service);
    release = await admitCallLimits(deps.limiter, toolset.limits, caller, name, service.leaseMs);
    const sent = await sendFederated(deps, caller, service, log, (mcp, target, options) =>
      mcp.getPrompt(target, exposed.prompt.name, checked, options),
    );
    audited = { ...audited, upstreamStatus: sent.status };
    const messages = sent.result['messages'];
    if (!Array.isArray(messages) || !messages.every(isPlainObject)) {
      throw new GatehouseError('upstream_error', `The MCP server of ${service.id} answered a prompt without messages`, {
        service: service.id,
      });
    }
    const text = textOf(
      messages.map((message) => (isPlainObject(message['content']) ? message['content']['text'] : '')),
    );
    const shaped = await withinBudget(deps, caller, toolset, name, text);
    const result =
      shaped === undefined
        ? sent.result
        : {
            ...withoutKey(sent.result, 'messages'),
            messages: [{ role: 'user', content: { type: 'text', text: shaped } }],
          };
    return await finish(deps, caller, requestId, started, audited, { ok: true, result });
  } catch (error) {
    return await finish(deps, caller, requestId, started, audited, { ok: false, error: toGatehouseError(error) });
  } finally {
    release?.();
  }
}

/** The most values one completion answers (MCP: "Maximum 100 items per response"). */
export const completionValuesMax = 100;

/**
 * `completion/complete` of a federated prompt's argument (`ref/prompt`, by the name the toolset lists it under) or
 * of a resource template's variable (`ref/resource`, the template's URI as its server lists it, or a listed
 * resource's URI). The ref goes to its server under the server's own name, with the caller's credential, counted by
 * the toolset's limits as a call of the prompt's name or `{service}_resources`; the answer's values are scrubbed and
 * cut to `completionValuesMax` (then `hasMore`). A ref the toolset does not expose is `not_found`; one of a server
 * that does not declare `completions` answers no values without asking it. One audit record, whatever the end.
 */
export async function complete(
  deps: FederatedReadDependencies,
  caller: Caller,
  request: CompletionRequest,
  requestId: string,
): Promise<FederatedOutcome> {
  const started = deps.clock.monotonic();
  const { ref } = request;
  const named = (ref.type === 'ref/prompt' ? ref.name : ref.uri).slice(0, auditedUriMax);
  let audited: Audited = { tool: named.slice(0, 128), method: 'completion/complete', path: `${ref.type} ${named}` };
  let release: ReleaseLimits | undefined;
  try {
    const { tenant, toolset } = runtimeOf(deps, caller);
    const target = completionTargetOf(toolset.features, ref);
    if (target === undefined) {
      const what = ref.type === 'ref/prompt' ? 'prompt' : 'resource template';
      throw new GatehouseError('not_found', `Unknown ${what}: ${named.slice(0, 200)}`, { ref: named.slice(0, 200) });
    }
    audited = { ...audited, tool: target.name, path: `${ref.type} ${target.upstreamRef.slice(0, auditedUriMax)}` };
    if (!target.completions) {
      return await finish(deps, caller, requestId, started, audited, {
        ok: true,
        result: { completion: { values: [] } },
      });
    }
    const service = serviceOf(tenant, target.service);
    release = await admitCallLimits(deps.limiter, toolset.limits, caller, target.name, service.leaseMs);
    const upstreamRef =
      ref.type === 'ref/prompt'
        ? { type: 'ref/prompt' as const, name: target.upstreamRef }
        : { type: 'ref/resource' as const, uri: target.upstreamRef };
    const sent = await sendFederated(deps, caller, service, undefined, (mcp, mcpTarget, options) =>
      mcp.complete(mcpTarget, { ...request, ref: upstreamRef }, options),
    );
    audited = { ...audited, upstreamStatus: sent.status };
    return await finish(deps, caller, requestId, started, audited, {
      ok: true,
      result: { completion: toCompletion(sent.result['completion'], service.id) },
    });
  } catch (error) {
    return await finish(deps, caller, requestId, started, audited, { ok: false, error: toGatehouseError(error) });
  } finally {
    release?.();
  }
}

/** The exposed prompt or resource service a completion's ref names, with the ref as its server knows it. */
function completionTargetOf(
  features: ExposedFeatures,
  ref: CompletionRequest['ref'],
): { name: string; service: string; completions: boolean; upstreamRef: string } | undefined {
  if (ref.type === 'ref/prompt') {
    const exposed = features.prompts.get(ref.name);
    return exposed && { ...exposed, upstreamRef: exposed.prompt.name };
  }
  const exposed =
    features.resourceServices.find((s) => s.resourceTemplates.some((template) => template.uriTemplate === ref.uri)) ??
    features.resourceServices.find((s) => s.resources.some((resource) => resource.uri === ref.uri));
  return exposed && { ...exposed, upstreamRef: ref.uri };
}

/**
 * A server's `completion` (untrusted) -> the one the client gets: string values, at most `completionValuesMax`
 * (more are cut, and `hasMore` is then true), `total` when it is an integer no smaller than the values given.
 */
export function toCompletion(
  completion: unknown,
  service: string,
): { values: string[]; total?: number; hasMore?: boolean } {
  const values = isPlainObject(completion) ? completion['values'] : undefined;
  if (!isPlainObject(completion) || !Array.isArray(values) || !values.every((value) => typeof value === 'string')) {
    throw new GatehouseError('upstream_error', `The MCP server of ${service} answered a completion without values`, {
      service,
    });
  }
  const cut = values.length > completionValuesMax;
  const total = completion['total'];
  return {
    values: values.slice(0, completionValuesMax),
    ...(Number.isSafeInteger(total) && (total as number) >= values.length ? { total: total as number } : {}),
    ...(cut || completion['hasMore'] === true
      ? { hasMore: true }
      : completion['hasMore'] === false
        ? { hasMore: false }
        : {}),
  };
}

interface Audited {
  readonly tool: string;
  readonly method: string;
  readonly path: string | null;
  readonly upstreamStatus?: number;
}

function runtimeOf(deps: FederatedReadDependencies, caller: Caller) {
  const tenant = deps.tenants.get(caller.tenant);
  const toolset = tenant?.toolsets.get(caller.toolset);
  if (tenant === undefined || toolset === undefined) throw new GatehouseError('not_found', 'No such MCP endpoint');
  return { tenant, toolset };
}

function serviceOf(tenant: TenantRuntime, id: string): ServiceRuntime {
  const service = tenant.services.get(id);
  if (service === undefined) throw new GatehouseError('not_found', `No service ${id}`);
  return service;
}

/** Which of the toolset's resource services serves `uri` (see `readResource`). */
function serviceOfUri(features: ExposedFeatures, uri: string) {
  const services = features.resourceServices;
  return (
    services.find((s) => s.resources.some((resource) => resource.uri === uri)) ??
    services.find((s) => s.resourceTemplates.some((template) => matchesUriTemplate(template.uriTemplate, uri))) ??
    (services.length === 1 ? services[0] : undefined)
  );
}

/**
 * The one request to the service's server: the caller's credential for the service (`resolveCredential`, the one
 * function that makes it; a user without a connection gets the connect link), then the answer scrubbed once of
 * every secret of that credential, gateway-owned `_meta` keys dropped. A refused credential is `upstream_error`; a
 * scope the server wants is `upstream_insufficient_scope` with its step-up link (`withConnectLink`).
 * `log`: the client's log level; the server's messages of the request are relayed as a tool call's (`relayServerLog`).
 */
async function sendFederated(
  deps: FederatedReadDependencies,
  caller: Caller,
  service: ServiceRuntime,
  log: CallRelay['log'],
  send: (
    mcp: Pick<McpUpstream, 'readResource' | 'getPrompt' | 'complete'>,
    target: McpTarget,
    options: McpCallOptions,
  ) => Promise<McpCallAnswer>,
): Promise<{ status: number; result: Record<string, unknown> }> {
  const mcp = deps.mcpUpstream;
  if (mcp === undefined) throw new Error('a federated read needs the MCP upstream client');
  const connection = await connectionOf(deps.store, caller, service);
  const subject = subjectAt(caller, service);
  const whose = { tenant: caller.tenant, service: service.id, subject, shared: service.shared };
  const { credential } = await deps.credentials
    .resolveCredential(caller.tenant, service.id, service.auth, subject, connection, service.connectionVariables)
    .catch(async (error: unknown) => {
      throw await deps.credentials.withConnectLink(error, whose, () =>
        service.auth.type === 'oauth2' ? service.auth.scopes : [],
      );
    });
  const scrub = createScrubber(listCredentialSecrets(credential));
  const options = { scrub, ...(log === undefined ? {} : { log: relayServerLog(log, () => scrub) }) };
  // A server wanting more scope (step-up) answers with the link that asks for it.
  const answer = await send(mcp, mcpTargetOf(caller.tenant, service, credential), options).catch(
    async (error: unknown) => {
      throw await deps.credentials.withConnectLink(
        scrubUpstreamError(error, scrub),
        whose,
        undefined,
        service.auth.type === 'oauth2' ? service.auth.scopes : [],
      );
    },
  );
  if (answer.result === undefined) {
    throw new GatehouseError('upstream_error', `The MCP server of ${service.id} refused the gateway's credential`, {
      service: service.id,
      status: answer.status,
    });
  }
  const result = scrubFederatedAnswer(answer.result, scrub, {
    of: `answer of ${service.id}`,
    details: { service: service.id },
  });
  if (!isPlainObject(result)) {
    throw new GatehouseError('upstream_error', `The MCP server of ${service.id} answered no result object`, {
      service: service.id,
    });
  }
  return { status: answer.status, result };
}

/** MCP prompt arguments are strings; every required one must be there. */
function promptArguments(
  declared: readonly { readonly name: string; readonly required?: boolean }[],
  args: unknown,
): Record<string, string> {
  const given = args ?? {};
  if (!isPlainObject(given)) throw new GatehouseError('invalid_arguments', 'arguments: expected an object of strings');
  for (const [key, value] of Object.entries(given)) {
    if (typeof value !== 'string') {
      throw new GatehouseError('invalid_arguments', `arguments.${key.slice(0, 64)}: expected a string`, {
        argument: key.slice(0, 64),
      });
    }
  }
  const missing = declared.find((argument) => argument.required === true && given[argument.name] === undefined);
  if (missing !== undefined) {
    throw new GatehouseError('invalid_arguments', `arguments.${missing.name}: required by the prompt`, {
      argument: missing.name,
    });
  }
  return given as Record<string, string>;
}

/**
 * The toolset's result budget for `name`: undefined when `text` is within it (or handles are off: then it is
 * delivered whole, as tool results are), else the summary text naming the handle that holds all of it.
 */
async function withinBudget(
  deps: FederatedReadDependencies,
  caller: Caller,
  toolset: ToolsetRuntime,
  name: string,
  text: string,
): Promise<string | undefined> {
  const { meta } = toolset;
  const shaped = await shapeToolResult(
    { text },
    {
      budget: meta.budgetOf(name),
      owner: { tenant: caller.tenant, subject: caller.subject, clientKey: caller.keyId },
      handles: meta.handles ? deps.handles : undefined,
      ttlMs: meta.ttlMs,
    },
  );
  return shaped.handle === undefined ? undefined : shaped.text;
}

/** Exactly one audit record per read or get, then its telemetry; answers once the record is written. */
async function finish(
  deps: FederatedReadDependencies,
  caller: Caller,
  requestId: string,
  started: number,
  audited: Audited,
  outcome: FederatedOutcome,
): Promise<FederatedOutcome> {
  const entry = {
    tenant: caller.tenant,
    requestId,
    toolset: caller.toolset,
    clientKey: caller.keyName,
    subject: caller.subject,
    tool: audited.tool,
    method: audited.method,
    pathTemplate: audited.path,
    decision: outcome.ok ? ('allow' as const) : decisionOf(outcome.error.code),
    code: outcome.ok ? null : outcome.error.code,
    upstreamStatus: audited.upstreamStatus ?? null,
    latencyMs: deps.clock.monotonic() - started,
    cached: false,
    outputUnmatched: false,
  };
  try {
    await deps.audit.recordToolCall(entry, { answerFirst: false });
  } catch (error) {
    deps.onAuditFailure?.(error);
  }
  deps.telemetry?.toolCall(entry);
  return outcome;
}

function textOf(values: readonly unknown[]): string {
  return values.filter((value): value is string => typeof value === 'string').join('\n');
}

function withoutKey(value: Record<string, unknown>, key: string): Record<string, unknown> {
  const { [key]: _dropped, ...rest } = value;
  return rest;
}
