import { bindCatalog } from '../catalog/index.ts';
import type { Config, NamedTool, TenantConfig, ToolSafety, ToolsetConfig } from '../core/index.ts';
import { matchToolGlob } from '../policy/index.ts';
import { countTokens } from '../shaping/index.ts';
import { buildTenant, canDeclareOutput, toListedTool } from './build-tenants.ts';
import type { ToolsetMeta } from './build-toolset-meta.ts';
import { loadPlainCatalog, loadService } from './load-service.ts';
import { selectConnectScopes } from './select-connect-scopes.ts';

export interface ToolsetReport {
  readonly tenant: string;
  readonly toolset: string;
  /** Tokens (o200k) of this toolset's whole `tools/list` answer. */
  readonly listTokens: number;
  /** `tools/list` shows the discovery meta-tools instead of every tool. */
  readonly discovery: boolean;
  readonly tools: readonly {
    readonly name: string;
    readonly safety: ToolSafety;
    readonly tokens: number;
    /** The tool lists an output schema (its results conform to it). */
    readonly outputSchema: boolean;
  }[];
  /**
   * What `tools/list` shows besides `tools`: the result tools (`gatehouse_result_query`, `gatehouse_result_page`)
   * and, with discovery, the meta-tools, each with its tokens; with `tools` they make up `listTokens`.
   */
  readonly alwaysListed: readonly { readonly name: string; readonly tokens: number }[];
  /**
   * The remote MCP (`mcp:`) services whose tools the toolset's globs could name: `check` reads no server, so their
   * tools are not in `tools` (they are listed from the servers when the gateway starts).
   */
  readonly remoteServices: readonly string[];
  readonly problems: readonly string[];
  /** Valid and intended, but worth knowing: tools listed without their output schema, and why. */
  readonly notes: readonly string[];
}

/**
 * Each tenant of a config built once for all of `check`'s inspections (it ran buildTenant three times per tenant:
 * the toolset report, the read-only link scopes and the overlays each built it again). Keyed by the tenant's config
 * object, so a changed config is built anew and nothing outlives it.
 */
const inspected = new WeakMap<TenantConfig, ReturnType<typeof buildTenant>>();
function inspectedTenant(tenantConfig: TenantConfig, index: number): ReturnType<typeof buildTenant> {
  let tenant = inspected.get(tenantConfig);
  if (tenant === undefined) {
    tenant = buildTenant(tenantConfig, index, loadService);
    inspected.set(tenantConfig, tenant);
  }
  return tenant;
}

/**
 * `gatehouse check`: loads every description the config names and reports each toolset's tools with their
 * token sizes, and what looks wrong (a toolset exposing nothing, operations a description could not import).
 */
export function inspectConfig(config: Config): ToolsetReport[] {
  const reports: ToolsetReport[] = [];
  config.tenants.forEach((tenantConfig, i) => {
    const tenant = inspectedTenant(tenantConfig, i);
    const importProblems = [...tenant.services.values()].flatMap((s) =>
      s.catalog.catalog.problems.map((p) => `service ${s.id}: skipped ${p.at}: ${p.reason}`),
    );
    for (const [id, toolset] of tenant.toolsets) {
      const toolsetConfig = tenantConfig.toolsets.find((t) => t.id === id);
      // A remote MCP server's tools are listed from it at start: `check` reads no server, so globs that could name
      // them are not typos, and an empty toolset may not be empty once served.
      const federated = toolsetConfig === undefined ? [] : findFederatedServices(tenantConfig, toolsetConfig);
      const couldNameFederated = (glob: string) => federated.some((s) => s.couldName(glob));
      const reached = federated.filter((s) => toolsetConfig!.tools.some((glob) => s.couldName(glob)));
      const unmatched =
        toolsetConfig === undefined
          ? []
          : findUnmatchedGlobs(toolsetConfig, [...toolset.policy.tenantTools.keys()], couldNameFederated);
      const tools = [...toolset.meta.allByName.values()].map((listed) => ({
        name: listed.name,
        safety: toolset.policy.tools.get(listed.name)!.tool.safety,
        tokens: countTokens(JSON.stringify(listed)),
        outputSchema: listed.outputSchema !== undefined,
      }));
      const needApproval = [...toolset.meta.allByName.keys()].filter(
        (name) => toolset.policy.rules.get(name)?.requiresApproval === true,
      );
      // The approval page needs an approver credential (review finding 7); without one such calls never run.
      const undecidable =
        needApproval.length > 0 &&
        !config.approvals.unsafeLinkAloneApproves &&
        tenantConfig.approverToken === undefined &&
        config.adminToken === undefined;
      reports.push({
        tenant: tenant.id,
        toolset: id,
        listTokens: countTokens(JSON.stringify({ tools: toolset.listed })),
        discovery: toolset.meta.discovery,
        tools,
        alwaysListed: toolset.listed
          .filter((listed) => !toolset.meta.allByName.has(listed.name))
          .map((listed) => ({ name: listed.name, tokens: countTokens(JSON.stringify(listed)) })),
        remoteServices: reached.map((s) => s.id),
        problems: [
          ...(tools.length === 0 && federated.length === 0 ? ['the toolset exposes no tool'] : []),
          ...(undecidable
            ? [
                `${needApproval.length} tool(s) need approval, but no approver can sign in to the approval page: set this tenant's approverToken (or adminToken)`,
              ]
            : []),
          ...unmatched,
          ...toolset.policy.unmatchedApproval
            .filter((entry) => !couldNameFederated(entry))
            .map(
              (entry) =>
                `approval: '${entry}' names no tool of the toolset, so every destructive tool of the toolset waits for a person too until it does`,
            ),
          ...(toolsetConfig?.access === 'read' ? describeUnsafeFederated(federated, toolsetConfig) : []),
          ...describeUncoveredTools(toolset.policy.serviceScopeDenied, toolset.policy.tenantTools),
          ...importProblems,
        ],
        notes: [
          ...reached.map(
            (s) =>
              `service ${s.id} is a remote MCP server: its tools are listed from it when the gateway starts, so they are not shown or counted here`,
          ),
          ...describeDroppedOutputSchemas(toolset.meta.outputSchemasDropped, toolsetConfig),
        ],
      });
    }
  });
  return reports;
}

/** What a read-only toolset's connect link for one OAuth service asks for (`selectConnectScopes`). */
export interface ReadOnlyLinkScopes {
  readonly tenantIndex: number;
  readonly toolsetIndex: number;
  readonly toolset: string;
  readonly serviceIndex: number;
  readonly service: string;
  readonly scopes: readonly string[];
}

/**
 * `gatehouse check`: for every `access: read` toolset and every OAuth service it exposes a tool of, the scopes a
 * connect link minted by its tool calls would ask, so the CLI can flag write-class ones.
 */
export function inspectReadOnlyLinkScopes(config: Config): ReadOnlyLinkScopes[] {
  const found: ReadOnlyLinkScopes[] = [];
  config.tenants.forEach((tenantConfig, tenantIndex) => {
    if (!tenantConfig.toolsets.some((t) => t.access === 'read')) return;
    const tenant = inspectedTenant(tenantConfig, tenantIndex);
    tenantConfig.toolsets.forEach((toolsetConfig, toolsetIndex) => {
      const toolset = tenant.toolsets.get(toolsetConfig.id);
      if (toolsetConfig.access !== 'read' || toolset === undefined) return;
      const used = new Set([...toolset.policy.tools.values()].map((tool) => tool.service));
      tenantConfig.services.forEach((service, serviceIndex) => {
        if (service.auth.type !== 'oauth2' || !used.has(service.id)) return;
        const scopes = selectConnectScopes(toolset.policy, service.id, service.auth.scopes, service.auth.refreshScope);
        found.push({ tenantIndex, toolsetIndex, toolset: toolsetConfig.id, serviceIndex, service: service.id, scopes });
      });
    });
  });
  return found;
}

/** Which tools list no output schema because the toolset's list would be over its bound with them. */
function describeDroppedOutputSchemas(
  dropped: ToolsetMeta['outputSchemasDropped'],
  toolset: ToolsetConfig | undefined,
): string[] {
  if (dropped === undefined) return [];
  const bound = toolset?.discovery.maxListTokens;
  return [
    `${dropped.tools.length} tool(s) list no output schema: with every schema tools/list would take ${dropped.tokensWithAll} tokens, over discovery.maxListTokens (${bound}), so the largest were dropped: ${dropped.tools.join(', ')}; their results still carry structuredContent, undeclared; raise discovery.maxListTokens to keep them`,
  ];
}

/**
 * The tools a toolset hides because their service's configured `scopes` cannot cover them (a connect link never
 * asks for more than those), one line per service: which tools, which scopes each lacks, and the fix.
 */
function describeUncoveredTools(
  uncovered: ReadonlyMap<string, readonly string[]>,
  tenantTools: ReadonlyMap<string, NamedTool>,
): string[] {
  const byService = new Map<string, string[]>();
  for (const [name, missing] of uncovered) {
    const service = tenantTools.get(name)?.service ?? '?';
    byService.set(service, [...(byService.get(service) ?? []), `${name} (needs ${missing.join(' ')})`]);
  }
  return [...byService].map(
    ([service, tools]) =>
      `${tools.length} tool(s) hidden: service ${service}'s configured scopes cannot cover them: ${tools.join(', ')}; add the scopes to the service's scopes to list them`,
  );
}

/** One overlaid tool, as `gatehouse check` shows it: the tool the description makes, and the one the model sees. */
export interface OverlayReport {
  readonly tenant: string;
  readonly service: string;
  readonly operation: string;
  readonly before: OverlaidTool;
  readonly after: OverlaidTool;
}

export interface OverlaidTool {
  readonly name: string;
  readonly safety: ToolSafety;
  readonly arguments: readonly string[];
  /** Tokens (o200k) of the tool's `tools/list` entry. */
  readonly tokens: number;
}

/** `gatehouse check`: every service's overlaid tools, before and after their overlays. */
export function inspectOverlays(config: Config): OverlayReport[] {
  const reports: OverlayReport[] = [];
  config.tenants.forEach((tenantConfig, i) => {
    const tenant = inspectedTenant(tenantConfig, i);
    for (const service of tenantConfig.services) {
      const operations = Object.keys(service.overlays ?? {});
      if (operations.length === 0) continue;
      const plain = bindCatalog(loadPlainCatalog(service), service.id);
      const overlaid = tenant.services.get(service.id)?.catalog;
      for (const operation of operations) {
        const find = (tools: readonly NamedTool[] | undefined) =>
          tools?.find((t) => t.tool.operation === operation || t.tool.key === operation);
        const before = find(plain.tools);
        const after = overlaid?.tools.find((t) => t.tool.operation === before?.tool.operation);
        if (before === undefined || after === undefined) continue;
        reports.push({
          tenant: tenantConfig.id,
          service: service.id,
          operation,
          before: describe(before),
          after: describe(after),
        });
      }
    }
  });
  return reports;
}

/** A tool as `tools/list` lists it, its output schema included where it has one a toolset would declare. */
function describe(named: NamedTool): OverlaidTool {
  const { tool } = named;
  const listed = toListedTool(named, canDeclareOutput(named));
  return {
    name: named.name,
    safety: tool.safety,
    arguments: Object.keys((tool.inputSchema['properties'] ?? {}) as object),
    tokens: countTokens(JSON.stringify(listed)),
  };
}

/**
 * Globs of a toolset that name no tool of the tenant: almost always a typo, and a silent one, since an `exclude`
 * that matches nothing excludes nothing.
 */
function findUnmatchedGlobs(
  toolset: ToolsetConfig,
  toolNames: readonly string[],
  couldNameFederated: (glob: string) => boolean,
): string[] {
  const fields: [string, readonly string[]][] = [
    ['tools', toolset.tools],
    ['exclude', toolset.exclude],
    ['policy.safety', Object.keys(toolset.policy.safety)],
    ['policy.constraints', Object.keys(toolset.policy.constraints)],
    ['limits.toolRateLimits', Object.keys(toolset.limits.toolRateLimits)],
    ['results.toolBudgets', Object.keys(toolset.results.toolBudgets)],
  ];
  const problems: string[] = [];
  for (const [field, globs] of fields) {
    for (const glob of globs) {
      const matches = matchToolGlob([glob]);
      if (!toolNames.some((name) => matches(name)) && !couldNameFederated(glob)) {
        problems.push(`${field}: '${glob}' matches no tool of the tenant, so it has no effect`);
      }
    }
  }
  return problems;
}

/**
 * The tenant's `mcp:` services, each with whether a tool glob of the toolset could name one of its tools, which
 * are unknown until the server is listed: any name when the toolset lists the service `unprefixed`, else a
 * `{service}_` name (the glob's text before its first wildcard and that prefix agree).
 */
function findFederatedServices(
  tenant: TenantConfig,
  toolset: ToolsetConfig,
): { readonly id: string; readonly couldName: (glob: string) => boolean }[] {
  return tenant.services
    .filter((s) => s.mcp !== undefined)
    .map((s) => {
      const prefix = `${s.id}_`;
      const unprefixed = toolset.unprefixed.includes(s.id);
      return {
        id: s.id,
        couldName: (glob: string) => {
          if (unprefixed) return true;
          const literal = glob.split(/[*?]/, 1)[0] ?? '';
          return literal.startsWith(prefix) || prefix.startsWith(literal);
        },
      };
    });
}

/**
 * A read-only toolset reaching a remote MCP server exposes none of its tools unless `policy.safety` classes some
 * safe: the server's annotations are hints and never make a tool safe (the newcomer's first federated toolset, with
 * the default `access: read`, listed nothing and `check` said nothing).
 */
function describeUnsafeFederated(
  federated: ReturnType<typeof findFederatedServices>,
  toolset: ToolsetConfig,
): string[] {
  const safeGlobs = Object.entries(toolset.policy.safety)
    .filter(([, safety]) => safety === 'safe')
    .map(([glob]) => glob);
  return federated
    .filter((s) => toolset.tools.some((glob) => s.couldName(glob)) && !safeGlobs.some((glob) => s.couldName(glob)))
    .map(
      (s) =>
        `service ${s.id} is a remote MCP server and this toolset is read-only (access: read, the default): a remote server's tools are never safe by their hints, so it exposes none of them until policy.safety classes one safe (or set access: write)`,
    );
}

/** Methods that change something: an operation with one of them is never `safe` unless an operator says so. */
const changingMethods: ReadonlySet<string> = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

/** Something `check` warns about, by the config field that causes it. */
export interface ConfigWarning {
  readonly path: string;
  readonly message: string;
}

/**
 * `gatehouse check`: POST/PUT/PATCH/DELETE operations that a service overlay or a toolset's `safety` marks `safe`.
 * Valid (an RPC-style read such as a search), but a `safe` tool is retried after a 503, cached and skips its intent
 * record, so a mistaken one can repeat a payment or lose its audit trail: the operator should know.
 */
export function inspectSafeWrites(config: Config): ConfigWarning[] {
  const warnings: ConfigWarning[] = [];
  const changes = (tool: NamedTool) => changingMethods.has(tool.tool.request.method) && tool.tool.safety !== 'safe';
  config.tenants.forEach((tenantConfig, t) => {
    const plainTools: NamedTool[] = [];
    tenantConfig.services.forEach((service, s) => {
      const plain = bindCatalog(loadPlainCatalog(service), service.id);
      plainTools.push(...plain.tools);
      for (const [operation, overlay] of Object.entries(service.overlays ?? {})) {
        if (overlay.safety !== 'safe') continue;
        const tool = plain.tools.find((n) => n.tool.key === operation || n.tool.operation === operation);
        if (tool === undefined || !changes(tool)) continue;
        warnings.push({
          path: `tenants[${t}].services[${s}].overlays.${operation}.safety`,
          message: `marks ${tool.tool.request.method} ${tool.tool.request.pathTemplate} safe: it is then retried after a 503 and cached, and writes no intent record`,
        });
      }
    });
    tenantConfig.toolsets.forEach((toolset, k) => {
      for (const [glob, safety] of Object.entries(toolset.policy.safety)) {
        if (safety !== 'safe') continue;
        const matches = matchToolGlob([glob]);
        const marked = plainTools.filter((tool) => matches(tool.name) && changes(tool));
        if (marked.length === 0) continue;
        warnings.push({
          path: `tenants[${t}].toolsets[${k}].policy.safety.${glob}`,
          message: `marks ${marked.length} POST/PUT/PATCH/DELETE tool(s) safe (${marked
            .slice(0, 3)
            .map((tool) => tool.name)
            .join(
              ', ',
            )}${marked.length > 3 ? ', ...' : ''}): they are then retried after a 503 and cached, and write no intent record`,
        });
      }
    });
  });
  return warnings;
}
