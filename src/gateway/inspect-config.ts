import { bindCatalog } from '../catalog/index.ts';
import type { Config, NamedTool, ToolSafety, ToolsetConfig } from '../core/index.ts';
import { matchToolGlob } from '../policy/index.ts';
import { countTokens } from '../shaping/index.ts';
import { buildTenant } from './build-tenants.ts';
import { loadPlainCatalog, loadService } from './load-service.ts';

export interface ToolsetReport {
  readonly tenant: string;
  readonly toolset: string;
  /** Tokens (o200k) of this toolset's whole `tools/list` answer. */
  readonly listTokens: number;
  readonly tools: readonly { readonly name: string; readonly safety: ToolSafety; readonly tokens: number }[];
  readonly problems: readonly string[];
}

/**
 * `gatehouse check`: loads every description the config names and reports each toolset's tools with their
 * token sizes, and what looks wrong (a toolset exposing nothing, operations a description could not import).
 */
export function inspectConfig(config: Config): ToolsetReport[] {
  const reports: ToolsetReport[] = [];
  config.tenants.forEach((tenantConfig, i) => {
    const tenant = buildTenant(tenantConfig, i, loadService);
    const importProblems = [...tenant.services.values()].flatMap((s) =>
      s.catalog.catalog.problems.map((p) => `service ${s.id}: skipped ${p.at}: ${p.reason}`),
    );
    for (const [id, toolset] of tenant.toolsets) {
      const toolsetConfig = tenantConfig.toolsets.find((t) => t.id === id);
      const unmatched =
        toolsetConfig === undefined ? [] : findUnmatchedGlobs(toolsetConfig, [...toolset.policy.tenantTools.keys()]);
      const tools = [...toolset.meta.allByName.values()].map((listed) => ({
        name: listed.name,
        safety: toolset.policy.tools.get(listed.name)!.tool.safety,
        tokens: countTokens(JSON.stringify(listed)),
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
        tools,
        problems: [
          ...(tools.length === 0 ? ['the toolset exposes no tool'] : []),
          ...(undecidable
            ? [
                `${needApproval.length} tool(s) need approval, but no approver can sign in to the approval page: set this tenant's approverToken (or adminToken)`,
              ]
            : []),
          ...unmatched,
          ...describeUncoveredTools(toolset.policy.serviceScopeDenied, toolset.policy.tenantTools),
          ...importProblems,
        ],
      });
    }
  });
  return reports;
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
    const tenant = buildTenant(tenantConfig, i, loadService);
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

function describe(named: NamedTool): OverlaidTool {
  const { tool } = named;
  const listed = {
    name: named.name,
    title: tool.title,
    description: tool.description,
    inputSchema: tool.inputSchema,
    annotations: tool.annotations,
  };
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
function findUnmatchedGlobs(toolset: ToolsetConfig, toolNames: readonly string[]): string[] {
  const fields: [string, readonly string[]][] = [
    ['tools', toolset.tools],
    ['exclude', toolset.exclude],
    ['approval', Array.isArray(toolset.approval) ? toolset.approval : []],
    ['policy.safety', Object.keys(toolset.policy.safety)],
    ['policy.constraints', Object.keys(toolset.policy.constraints)],
    ['limits.toolRateLimits', Object.keys(toolset.limits.toolRateLimits)],
    ['results.toolBudgets', Object.keys(toolset.results.toolBudgets)],
  ];
  const problems: string[] = [];
  for (const [field, globs] of fields) {
    for (const glob of globs) {
      const matches = matchToolGlob([glob]);
      if (!toolNames.some((name) => matches(name))) {
        problems.push(`${field}: '${glob}' matches no tool of the tenant, so it has no effect`);
      }
    }
  }
  return problems;
}
