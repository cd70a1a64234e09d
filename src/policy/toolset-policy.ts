import type { NamedTool, ToolsetConfig } from '../core/index.ts';
import { matchToolGlob } from './match-tool-glob.ts';

/** A toolset's policy, compiled once at start from its config and the tenant's tools. Immutable. */
export interface ToolsetPolicy {
  readonly tenant: string;
  readonly toolset: string;
  /** Tools this toolset exposes, by name (after allow/deny globs and the access mode). */
  readonly tools: ReadonlyMap<string, NamedTool>;
  /** Every tool of the tenant, to tell "not in this toolset" apart from "does not exist". */
  readonly tenantTools: ReadonlyMap<string, NamedTool>;
  readonly access: ToolsetConfig['access'];
  readonly requiresApproval: (tool: NamedTool) => boolean;
  readonly rateLimit: { readonly perMinute: number; readonly burst: number } | undefined;
}

/**
 * Compiles a toolset: tools named by its `tools` globs, minus `exclude`, and with `access: read` only safe
 * operations.
 */
export function compileToolsetPolicy(
  tenant: string,
  config: ToolsetConfig,
  tenantTools: ReadonlyMap<string, NamedTool>,
): ToolsetPolicy {
  const included = matchToolGlob(config.tools);
  const excluded = matchToolGlob(config.exclude);
  const tools = new Map<string, NamedTool>();
  for (const [name, tool] of tenantTools) {
    if (included(name) && !excluded(name) && (config.access === 'write' || tool.tool.safety === 'safe')) {
      tools.set(name, tool);
    }
  }
  const approval = config.approval;
  const named = Array.isArray(approval) ? matchToolGlob(approval) : undefined;
  return Object.freeze({
    tenant,
    toolset: config.id,
    tools,
    tenantTools,
    access: config.access,
    requiresApproval: (tool: NamedTool) =>
      named ? named(tool.name) : approval === 'destructive' && tool.tool.safety === 'destructive',
    rateLimit: config.rateLimit
      ? { perMinute: config.rateLimit.perMinute, burst: config.rateLimit.burst ?? config.rateLimit.perMinute }
      : undefined,
  });
}
