import { type McpFeatures, toUnprefixedToolName } from '../catalog/index.ts';
import {
  type Catalog,
  type ConnectionVariable,
  connectionVariableRules,
  fillConnectionVariables,
  fillServiceReferences,
  formatPath,
  GatehouseError,
  isConnectionVariable,
  type NamedTool,
  placeholdersOf,
  type ServiceCatalog,
  type TenantConfig,
} from '../core/index.ts';
import { compileToolsetLimits, compileToolsetPolicy, type ToolsetLimits, type ToolsetPolicy } from '../policy/index.ts';
import { metaToolNames } from '../shaping/index.ts';
import type { McpTarget, UpstreamCredential } from '../upstream/index.ts';
import { buildToolsetMeta, type ToolsetMeta } from './build-toolset-meta.ts';
import type { ListedTool } from './contract.ts';
import { type ExposedFeatures, exposeMcpFeatures } from './expose-mcp-features.ts';
import { descriptionSourceOf } from './load-service.ts';

/** A service of a tenant as the request path needs it. Holds no secret. */
export interface ServiceRuntime {
  readonly id: string;
  readonly catalog: ServiceCatalog;
  /** The base URL; with `connectionVariables`, a template filled for each call (`endpointOf`). */
  readonly baseUrl: string;
  /** The one origin calls may reach; '' when the origin itself is per connection (`endpointOf`). */
  readonly allowedOrigin: string;
  /** Variables of `baseUrl` each connection fills (Salesforce `instanceUrl`, Atlassian `cloudId`); often none. */
  readonly connectionVariables: readonly ConnectionVariable[];
  readonly auth: TenantConfig['services'][number]['auth'];
  /** Fixed request headers of every call (config `headers`), applied over the tool arguments' headers. */
  readonly headers: Readonly<Record<string, string>>;
  /** Calls use the connection of subject `shared`, whoever calls (config `shared: true`). */
  readonly shared: boolean;
  readonly timeoutMs: number;
  readonly connectTimeoutMs: number;
  readonly maxResponseBytes: number;
  /** Upstream retry limits of the retrying client (429 waits, 5xx retries). */
  readonly retry: { readonly maxRetries: number; readonly maxWaitSeconds: number };
  /** How long a call's concurrency slot may be held: every attempt plus the waits between them, and a margin. */
  readonly leaseMs: number;
  /** An `mcp:` service: the resources, resource templates and prompts its server listed last. */
  readonly features?: McpFeatures;
}

export interface ToolsetRuntime {
  readonly policy: ToolsetPolicy;
  /** `tools/list` answer, computed once (discovery meta-tools replace the full list in large toolsets). */
  readonly listed: readonly ListedTool[];
  /** Result budgets, handles, discovery and pagination settings (see build-toolset-meta.ts). */
  readonly meta: ToolsetMeta;
  /** Rate and concurrency limits of the toolset (and its tenant's rate limit), compiled. */
  readonly limits: ToolsetLimits;
  /** Safe reads are cached this long (seconds); undefined: the toolset does not cache. */
  readonly cacheTtlSeconds: number | undefined;
  /** The federated resources and prompts the toolset exposes. */
  readonly features: ExposedFeatures;
  /** What its endpoint declares beyond tools (`features.declares`; `logging` when it reaches a federated server). */
  readonly declares: ExposedFeatures['declares'] & { readonly logging: boolean };
}

export interface TenantRuntime {
  readonly id: string;
  readonly services: ReadonlyMap<string, ServiceRuntime>;
  readonly toolsets: ReadonlyMap<string, ToolsetRuntime>;
  /** Some toolset of the tenant caches reads: its writes invalidate the cached reads of their service. */
  readonly caching: boolean;
}

/**
 * Listed forms of a tool, with and without its output schema, shared by every toolset and tenant that exposes the
 * same named tool.
 */
const listedByTool = new WeakMap<NamedTool, ListedTool>();
const listedWithoutOutput = new WeakMap<NamedTool, ListedTool>();

export function toListedTool(named: NamedTool, declaresOutput: boolean): ListedTool {
  const memo = declaresOutput ? listedByTool : listedWithoutOutput;
  let listed = memo.get(named);
  if (listed === undefined) {
    const { tool } = named;
    listed = Object.freeze({
      name: named.name,
      title: tool.title,
      description: tool.description,
      inputSchema: tool.inputSchema,
      ...(declaresOutput && tool.outputSchema ? { outputSchema: tool.outputSchema } : {}),
      annotations: tool.annotations,
    });
    memo.set(named, listed);
  }
  return listed;
}

/**
 * Whether a toolset lists a tool's output schema (and its results conform to it): the tool has one, no overlay
 * projection reshapes its results, and neither the toolset nor the service turned structured output off. (A toolset
 * whose list would be over its bound with every schema drops the largest first: see build-toolset-meta.ts.)
 */
function declaresOutput(named: NamedTool, toolsetOn: boolean, serviceOn: ReadonlyMap<string, boolean>): boolean {
  return toolsetOn && canDeclareOutput(named) && serviceOn.get(named.service) === true;
}

/** The tool has an output schema its results conform to: no overlay projection reshapes them. */
export function canDeclareOutput(named: NamedTool): boolean {
  return named.tool.outputSchema !== undefined && named.tool.projection === undefined;
}

/**
 * Builds the immutable runtime view of one tenant from its config: services bound to their (shared)
 * catalogues, and each toolset's compiled policy and tool list. Config mistakes that only show once the
 * descriptions are loaded (no base URL, a toolset matching no tool) are reported with their config path.
 */
export function buildTenant(
  config: TenantConfig,
  tenantIndex: number,
  loadService: (service: TenantConfig['services'][number]) => {
    catalog: Catalog;
    bound: ServiceCatalog;
    features?: McpFeatures;
  },
): TenantRuntime {
  const services = new Map<string, ServiceRuntime>();
  const bounds: ServiceCatalog[] = [];
  config.services.forEach((service, i) => {
    const path = formatPath(['tenants', tenantIndex, 'services', i]);
    const { catalog, bound, features } = loadServiceAt(
      loadService,
      service,
      path,
      `${path}.${descriptionSourceOf(service).field}`,
    );
    const baseUrl = service.baseUrl ?? catalog.baseUrl;
    if (baseUrl === undefined) {
      throw new GatehouseError(
        'config_invalid',
        `${path}.baseUrl: the description has no absolute server URL; set baseUrl`,
        { path: `${path}.baseUrl` },
      );
    }
    // Per-connection variables fill the base URL (Atlassian's cloud id) or a fixed header (Xero's tenant id).
    const connectionVariables = [
      ...new Set([baseUrl, ...Object.values(service.headers)].flatMap(placeholdersOf).filter(isConnectionVariable)),
    ];
    services.set(service.id, {
      id: service.id,
      catalog: bound,
      baseUrl,
      allowedOrigin: originOfTemplate(baseUrl),
      connectionVariables,
      auth: service.auth,
      headers: fillServiceReferences(service.headers, service.auth),
      shared: service.shared,
      ...upstreamLimitsOf(service),
      retry: service.retry,
      leaseMs:
        (service.retry.maxRetries + 1) * service.timeoutSeconds * 1000 +
        service.retry.maxRetries * service.retry.maxWaitSeconds * 1000 +
        5_000,
      ...(features === undefined ? {} : { features }),
    });
    bounds.push(bound);
  });
  const tenantTools = toolsOfServices(bounds);
  const toolsets = new Map<string, ToolsetRuntime>();
  const catalogs = [...services.values()].map((s) => s.catalog);
  for (const [j, toolset] of config.toolsets.entries()) {
    const at = `${formatPath(['tenants', tenantIndex, 'toolsets', j])}.unprefixed`;
    const features = exposeMcpFeatures(toolset, [...services.values()], at);
    const exposed =
      toolset.unprefixed.length === 0 ? tenantTools : unprefix(tenantTools, toolset.unprefixed, services, at);
    // The gateway's own tools (discovery, result handles) keep their names: a remote server listing
    // `gatehouse_result_query` under `unprefixed` (or `result_query` as service `gatehouse`) would list a second tool
    // of that name (finding federated_tool_shadows_meta_tool), whose description the client may take for the gateway's.
    for (const name of metaToolNames) {
      const taken = exposed.get(name);
      if (taken === undefined) continue;
      throw new GatehouseError(
        'config_invalid',
        `${at}: tool ${taken.tool.operation} of service ${taken.service} would be named ${name}, a name the ` +
          'gateway keeps for its own tools; prefix the service, or give it another id',
        { path: at, tool: name },
      );
    }
    const { policy, meta } = compileToolset(toolset, exposed, config.services, catalogs);
    toolsets.set(toolset.id, {
      policy,
      listed: meta.listed,
      meta,
      limits: compileToolsetLimits(config.rateLimit, toolset),
      cacheTtlSeconds: toolset.results.cache?.ttlSeconds,
      features,
      declares: {
        ...features.declares,
        logging:
          features.declares.resources ||
          features.declares.prompts ||
          [...policy.tools.values()].some((named) => named.tool.request.mcp !== undefined),
      },
    });
  }
  return { id: config.id, services, toolsets, caching: config.toolsets.some((t) => t.results.cache !== undefined) };
}

/**
 * Compiled toolsets by the tools they draw on (the tenant's tools map, which tenants binding one description under the
 * same service id share) and a key of every config input besides those tools. Equal toolsets of many tenants then
 * hold one policy and one listing: compiling them per tenant was ~4.6 ms and ~33 KB per tenant over the GitHub
 * catalogue (bench/LATEST.md, S8). Nothing tenant-specific is compiled in; the tenant's limits stay its own.
 */
const compiledToolsets = new WeakMap<ReadonlyMap<string, NamedTool>, Map<string, WeakRef<CompiledToolset>>>();
/**
 * Entries per tools map before the dead ones are dropped. A compiled toolset lives as long as a tenant runtime holds
 * it (the memo holds it weakly), so a config edited at run time leaves only its key behind.
 */
const maxCompiledPerTools = 1_000;

interface CompiledToolset {
  readonly policy: ToolsetPolicy;
  readonly meta: ToolsetMeta;
}

function compileToolset(
  toolset: TenantConfig['toolsets'][number],
  exposed: ReadonlyMap<string, NamedTool>,
  services: TenantConfig['services'],
  catalogs: readonly ServiceCatalog[],
): CompiledToolset {
  // What the policy and listing read of the services besides their tools, read once for the key and the policy: no
  // credential is part of it.
  const inputs = services.map((service) => ({
    id: service.id,
    scopeImplies: service.scopeImplies,
    scopes: service.auth.type === 'oauth2' ? service.auth.scopes : [],
    scopesFromCatalogue: service.scopesFromCatalogue === true,
    structuredOutput: service.structuredOutput ?? true,
  }));
  const key = JSON.stringify([toolset, inputs]);
  let byKey = compiledToolsets.get(exposed);
  if (byKey === undefined) {
    byKey = new Map();
    compiledToolsets.set(exposed, byKey);
  }
  const known = byKey.get(key)?.deref();
  if (known !== undefined) return known;
  const scopeImplies = new Map(inputs.map((input) => [input.id, input.scopeImplies] as const));
  const withScopes = inputs.filter((input) => input.scopes.length > 0);
  const serviceScopes = new Map(withScopes.map((input) => [input.id, input.scopes] as const));
  // Scopes the operator listed (not the catalogue's defaults and pack): links ask every equal alternative of them.
  const listedScopes = new Set(withScopes.filter((input) => !input.scopesFromCatalogue).map((input) => input.id));
  const structuredOutput = new Map(inputs.map((input) => [input.id, input.structuredOutput] as const));
  const policy = compileToolsetPolicy(toolset, exposed, { scopeImplies, serviceScopes, listedScopes });
  const all = Object.freeze(
    [...policy.tools.values()].map((tool) =>
      toListedTool(tool, declaresOutput(tool, toolset.results.structuredOutput, structuredOutput)),
    ),
  );
  const meta = buildToolsetMeta(
    toolset,
    policy.tools,
    catalogs,
    all,
    (listed) => toListedTool(policy.tools.get(listed.name)!, false),
    policy.requiresApproval,
  );
  const compiled = Object.freeze({ policy, meta });
  if (byKey.size >= maxCompiledPerTools) {
    for (const [known, ref] of byKey) if (ref.deref() === undefined) byKey.delete(known);
    if (byKey.size >= maxCompiledPerTools) byKey.clear();
  }
  byKey.set(key, new WeakRef(compiled));
  return compiled;
}

/**
 * The tools of a tenant's services by name. A tenant with one service uses its bound catalogue's own map, shared by
 * every tenant binding the same description under the same service id: a copy per tenant was ~57 KB of the ~117 KB
 * each tenant of a 1,223-tool GitHub catalogue kept (bench/LATEST.md, S8).
 */
function toolsOfServices(bounds: readonly ServiceCatalog[]): ReadonlyMap<string, NamedTool> {
  if (bounds.length === 1) return bounds[0]!.byName;
  const tools = new Map<string, NamedTool>();
  for (const bound of bounds) for (const tool of bound.tools) tools.set(tool.name, tool);
  return tools;
}

/** The origin of a base URL whose per-connection variables (if any) are all after the origin; else ''. */
function originOfTemplate(baseUrl: string): string {
  const example = baseUrl.replace(/\{([^{}]*)\}/g, (whole, name: string) =>
    isConnectionVariable(name) ? connectionVariableRules[name].example : whole,
  );
  const origin = new URL(example).origin;
  return baseUrl.startsWith(origin) ? origin : '';
}

/**
 * Where a call to `service` goes for a connection with `variables`: the base URL with the connection's variables
 * filled (each checked against its rule again: a stored value is not trusted blindly) and the origin the call
 * may reach. Without per-connection variables: the service's own.
 */
export function endpointOf(
  service: Pick<ServiceRuntime, 'baseUrl' | 'allowedOrigin' | 'connectionVariables'>,
  variables: Readonly<Record<string, string>> = {},
): { readonly baseUrl: string; readonly allowedOrigin: string } {
  if (service.connectionVariables.length === 0) return service;
  const baseUrl = fillConnectionVariables(service.baseUrl, variables);
  return { baseUrl, allowedOrigin: service.allowedOrigin === '' ? new URL(baseUrl).origin : service.allowedOrigin };
}

/** A service's time and size limits for each upstream request, as its runtime holds them. */
export function upstreamLimitsOf(
  service: TenantConfig['services'][number],
): Pick<ServiceRuntime, 'timeoutMs' | 'connectTimeoutMs' | 'maxResponseBytes'> {
  return {
    timeoutMs: service.timeoutSeconds * 1000,
    connectTimeoutMs: service.connectTimeoutSeconds * 1000,
    maxResponseBytes: service.maxResponseBytes,
  };
}

/**
 * Where a request to a federated (`mcp:`) service goes for a tenant, with the credential to present: a call's
 * (the service's runtime) and a listing's (its config, before any runtime is built: `upstreamLimitsOf`).
 */
export function mcpTargetOf(
  tenant: string,
  service: Pick<ServiceRuntime, 'id' | 'baseUrl' | 'timeoutMs' | 'connectTimeoutMs' | 'maxResponseBytes'> &
    Partial<Pick<ServiceRuntime, 'headers'>>,
  credential: UpstreamCredential,
): McpTarget {
  return {
    tenant,
    service: service.id,
    url: service.baseUrl,
    credential,
    timeoutMs: service.timeoutMs,
    connectTimeoutMs: service.connectTimeoutMs,
    maxResponseBytes: service.maxResponseBytes,
    // The service's fixed `headers` go to its MCP server as to any upstream (they were accepted and never sent).
    ...(service.headers === undefined || Object.keys(service.headers).length === 0 ? {} : { headers: service.headers }),
  };
}

/**
 * The fixed headers a call to `service` sends for a connection with `variables`: a value naming a per-connection
 * variable (`xero-tenant-id: {tenantId}`) filled, checked against its rule like a base URL's.
 */
export function headersOf(
  service: Pick<ServiceRuntime, 'headers' | 'connectionVariables'>,
  variables: Readonly<Record<string, string>> = {},
): Readonly<Record<string, string>> {
  if (service.connectionVariables.length === 0) return service.headers;
  return Object.fromEntries(
    Object.entries(service.headers).map(([name, value]) => [
      name,
      placeholdersOf(value).some(isConnectionVariable) ? fillConnectionVariables(value, variables) : value,
    ]),
  );
}

/** Unprefixed copies, shared by every toolset and tenant exposing the same tool without its prefix. */
const unprefixedByTool = new WeakMap<NamedTool, NamedTool>();

/**
 * The tenant's tools as a toolset with `unprefixed` services sees them: those services' tools under their own keys
 * (`toUnprefixedToolName`), every other tool as it is. A name two tools would share is a config error naming both
 * (at `at`, the toolset's `unprefixed` field), as is a service id the tenant does not have.
 */
function unprefix(
  tools: ReadonlyMap<string, NamedTool>,
  unprefixed: readonly string[],
  services: ReadonlyMap<string, ServiceRuntime>,
  at: string,
): ReadonlyMap<string, NamedTool> {
  for (const [i, service] of unprefixed.entries()) {
    if (!services.has(service)) {
      throw new GatehouseError('config_invalid', `${at}[${i}]: the tenant has no service ${service}`, {
        path: `${at}[${i}]`,
      });
    }
  }
  const bare = new Set(unprefixed);
  const exposed = new Map<string, NamedTool>();
  for (const tool of tools.values()) {
    let named = tool;
    if (bare.has(tool.service)) {
      named = unprefixedByTool.get(tool) ?? Object.freeze({ ...tool, name: toUnprefixedToolName(tool.tool.key) });
      unprefixedByTool.set(tool, named);
    }
    const other = exposed.get(named.name);
    if (other !== undefined) {
      throw new GatehouseError(
        'config_invalid',
        `${at}: tool ${tool.tool.operation} of service ${tool.service} and tool ${other.tool.operation} of service ` +
          `${other.service} would both be named ${named.name}; prefix one of the services`,
        { path: at, tool: named.name },
      );
    }
    exposed.set(named.name, named);
  }
  return exposed;
}

/** Loads a service's description, naming the config field that points at it when that fails. */
function loadServiceAt<T>(
  load: (service: TenantConfig['services'][number]) => T,
  service: TenantConfig['services'][number],
  path: string,
  field: string,
): T {
  try {
    return load(service);
  } catch (error) {
    // An overlay error names the service by id (loadService cannot know the config path): name the path.
    const prefix = `services.${service.id}.`;
    const at = error instanceof GatehouseError ? error.details['path'] : undefined;
    if (error instanceof GatehouseError && typeof at === 'string' && at.startsWith(prefix)) {
      const real = `${path}.${at.slice(prefix.length)}`;
      throw new GatehouseError(error.code, `${real}${error.message.slice(at.length)}`, {
        ...error.details,
        path: real,
      });
    }
    if (
      error instanceof GatehouseError &&
      error.code === 'description_invalid' &&
      error.details['path'] === undefined
    ) {
      throw new GatehouseError(error.code, `${field}: ${error.message}`, { ...error.details, path: field });
    }
    throw error;
  }
}
