import type { NamedTool, ToolSafety, ToolsetConfig } from '../core/index.ts';
import { type ArgumentConstraints, compileArgumentConstraints } from './compile-argument-constraints.ts';
import { matchToolGlob } from './match-tool-glob.ts';
import { mostSpecificByGlob, pickByGlob } from './pick-by-glob.ts';
import {
  collectRequiredScopes,
  expandScopes,
  findEqualMissingScopes,
  findMissingScopes,
  type ScopeImplications,
} from './scope-check.ts';

/** What the policy holds per exposed tool, compiled once. */
export interface ToolRules {
  /** Required scope alternatives, restricted to those the toolset's `scopes` allow. */
  readonly scopes: readonly (readonly string[])[];
  /** The toolset's extra argument constraints for this tool, if any. */
  readonly constraints: ArgumentConstraints | undefined;
  readonly requiresApproval: boolean;
}

/**
 * A toolset's policy, compiled once from its config and the tenant's tools. Immutable, and free of the tenant's
 * identity: tenants compiling the same toolset config over the same tools share one (build-tenants.ts).
 */
export interface ToolsetPolicy {
  readonly toolset: string;
  /**
   * Tools this toolset exposes, by name (after allow/deny globs, safety overrides, the access mode and the
   * toolset's scope restriction). Overridden tools are copies with the new safety and annotations.
   */
  readonly tools: ReadonlyMap<string, NamedTool>;
  readonly rules: ReadonlyMap<string, ToolRules>;
  /** Every tool of the tenant, to tell "not in this toolset" apart from "does not exist". */
  readonly tenantTools: ReadonlyMap<string, NamedTool>;
  /** Tools the globs select but the access mode refuses. */
  readonly accessDenied: ReadonlySet<string>;
  /** Tools the globs select but that need a scope outside the toolset's `scopes`: name -> missing scopes (SC-01). */
  readonly scopeDenied: ReadonlyMap<string, readonly string[]>;
  /**
   * Tools the globs select but that need a scope outside their service's configured `scopes` (the most a connect
   * link asks for, so no connection could ever cover them): name -> missing scopes. Hidden like `scopeDenied`.
   */
  readonly serviceScopeDenied: ReadonlyMap<string, readonly string[]>;
  readonly access: ToolsetConfig['access'];
  readonly requiresApproval: (tool: NamedTool) => boolean;
  /**
   * Entries of an `approval` list that name no tool of the toolset: while there is one, every destructive tool of
   * the toolset waits for a person too (fail closed); `gatehouse check` and the tenant's status name them.
   */
  readonly unmatchedApproval: readonly string[];
  readonly rateLimit: { readonly perMinute: number; readonly burst: number } | undefined;
  /** Whether any exposed tool needs OAuth scopes (only then do `tools/list` and calls depend on a grant). */
  readonly usesScopes: boolean;
  /**
   * The scopes to request when connecting `service` for this toolset: enough for every exposed tool of the
   * service and nothing more (implied scopes dropped); for a service whose operator listed its scopes
   * (`listedScopes`), every equal alternative of each tool among them. Used by the OAuth connect flow.
   */
  requiredScopesOf(service: string): readonly string[];
  /** A connection's granted scopes at `service` expanded by the service's hierarchy (memoised). */
  heldScopesOf(service: string, granted: readonly string[]): ReadonlySet<string>;
  /**
   * What a grant at `service` lacks for a tool needing `alternatives`: `undefined` when covered; otherwise one way
   * to cover it (`findMissingScopes`), or for a service whose operator listed its scopes each of the equally narrow
   * ways (`findEqualMissingScopes`: Slack `channels:history` or `groups:history`). A step-up link asks for them all.
   */
  missingScopesOf(
    service: string,
    alternatives: readonly (readonly string[])[],
    granted: readonly string[],
  ): readonly (readonly string[])[] | undefined;
}

export interface ToolsetPolicyOptions {
  /** Per service id: its `scopeImplies` hierarchy. */
  readonly scopeImplies?: ReadonlyMap<string, ScopeImplications>;
  /**
   * Per OAuth service id with configured `scopes`: that list, the ceiling of what its connections are asked for
   * (`selectConnectScopes`). Absent for a service: no ceiling (connect links ask for what the tools need).
   */
  readonly serviceScopes?: ReadonlyMap<string, readonly string[]>;
  /**
   * The services of `serviceScopes` whose scopes the operator listed (not taken from the provider catalogue): their
   * links ask for every equal alternative of a tool's scopes among the listed ones (Slack `channels:history` and
   * `groups:history`), where others ask for the first (`equalAlternatives`).
   */
  readonly listedScopes?: ReadonlySet<string>;
}

const noImplications: ScopeImplications = Object.freeze({});
/** Safety-overridden copies, shared by every toolset and tenant applying the same override to the same tool. */
const overridden = new WeakMap<NamedTool, Map<ToolSafety, NamedTool>>();

/**
 * Compiles a toolset: tools named by its `tools` globs, minus `exclude`; safety classes overridden where the
 * config says the description is wrong; with `access: read` only safe operations; tools needing a scope the
 * toolset's `scopes` do not allow, or that their service's configured `scopes` cannot cover, are withheld (and
 * answered `scope_missing` on call); argument constraints
 * compiled per tool.
 */
export function compileToolsetPolicy(
  config: ToolsetConfig,
  tenantTools: ReadonlyMap<string, NamedTool>,
  options: ToolsetPolicyOptions = {},
): ToolsetPolicy {
  const impliesOf = (service: string) => options.scopeImplies?.get(service) ?? noImplications;
  const asksEveryAlternative = (service: string) =>
    options.listedScopes?.has(service) === true && options.serviceScopes?.has(service) === true;
  const included = matchToolGlob(config.tools);
  const excluded = matchToolGlob(config.exclude);
  const safetyOf = mostSpecificByGlob(config.policy.safety);
  const constraintsOf = pickByGlob(config.policy.constraints);
  const approval = config.approval;
  const named = Array.isArray(approval) ? matchToolGlob(approval) : undefined;
  // A list entry naming no tool of the toolset is a mistake whose intent is unknown (a typo, a tool renamed or
  // excluded, a prefixed name of an unprefixed service): with a list only listed tools wait, so it would let the
  // tool it meant run unasked. Fail closed: every destructive tool waits too, until the list is fixed.
  const candidates = [...tenantTools.keys()].filter((name) => included(name) && !excluded(name));
  const unmatchedApproval = Array.isArray(approval)
    ? approval.filter((entry) => !candidates.some(matchToolGlob([entry])))
    : [];
  const requiresApproval = (tool: NamedTool) =>
    named
      ? named(tool.name) || (unmatchedApproval.length > 0 && tool.tool.safety === 'destructive')
      : approval === 'destructive' && tool.tool.safety === 'destructive';

  const tools = new Map<string, NamedTool>();
  const rules = new Map<string, ToolRules>();
  const accessDenied = new Set<string>();
  const scopeDenied = new Map<string, readonly string[]>();
  const serviceScopeDenied = new Map<string, readonly string[]>();
  const allowedByService = new Map<string, ReadonlySet<string>>();
  const ceilingByService = new Map<string, ReadonlySet<string> | undefined>();
  const ceilingOf = (service: string) => {
    if (!ceilingByService.has(service)) {
      const configured = options.serviceScopes?.get(service);
      ceilingByService.set(service, configured && expandScopes(configured, impliesOf(service)));
    }
    return ceilingByService.get(service);
  };
  for (const [name, original] of tenantTools) {
    if (!included(name) || excluded(name)) continue;
    const safety = safetyOf(name);
    const tool = safety === undefined ? original : withSafety(original, safety);
    if (config.access === 'read' && tool.tool.safety !== 'safe') {
      accessDenied.add(name);
      continue;
    }
    let scopes = tool.tool.scopes;
    if (config.policy.scopes !== undefined && scopes.length > 0) {
      let allowed = allowedByService.get(tool.service);
      if (allowed === undefined) {
        allowed = expandScopes(config.policy.scopes, impliesOf(tool.service));
        allowedByService.set(tool.service, allowed);
      }
      const within = scopes.filter((alternative) => alternative.every((scope) => allowed.has(scope)));
      if (within.length === 0) {
        scopeDenied.set(name, findMissingScopes(scopes, allowed, impliesOf(tool.service)) ?? []);
        continue;
      }
      scopes = within;
    }
    const ceiling = scopes.length > 0 ? ceilingOf(tool.service) : undefined;
    if (ceiling !== undefined) {
      const within = scopes.filter((alternative) => alternative.every((scope) => ceiling.has(scope)));
      if (within.length === 0) {
        serviceScopeDenied.set(name, findMissingScopes(scopes, ceiling, impliesOf(tool.service)) ?? []);
        continue;
      }
      scopes = within;
    }
    // Every matching glob contributes; a more specific one overrides an argument's keywords (pickByGlob's order).
    const merged: Record<string, (typeof config.policy.constraints)[string][string]> = {};
    for (const constraints of constraintsOf(name)) Object.assign(merged, constraints);
    tools.set(name, tool);
    rules.set(name, {
      scopes,
      constraints: compileArgumentConstraints(merged),
      requiresApproval: requiresApproval(tool),
    });
  }

  const requiredByService = new Map<string, readonly string[]>();
  for (const service of new Set([...tools.values()].map((tool) => tool.service))) {
    const alternatives = [...tools.values()]
      .filter((tool) => tool.service === service)
      .map((tool) => (rules.get(tool.name) as ToolRules).scopes);
    requiredByService.set(
      service,
      Object.freeze(collectRequiredScopes(alternatives, impliesOf(service), asksEveryAlternative(service))),
    );
  }
  const held = new Map<string, ReadonlySet<string>>();
  const heldScopesOf = (service: string, granted: readonly string[]) => {
    const key = `${service}\u0000${granted.join(' ')}`;
    let set = held.get(key);
    if (set === undefined) {
      // Bounded: distinct grants per toolset are few in practice; a flood only costs recomputation.
      if (held.size >= 1_000) held.clear();
      set = expandScopes(granted, impliesOf(service));
      held.set(key, set);
    }
    return set;
  };

  return Object.freeze({
    toolset: config.id,
    tools,
    rules,
    tenantTools,
    accessDenied,
    scopeDenied,
    serviceScopeDenied,
    access: config.access,
    requiresApproval,
    unmatchedApproval,
    rateLimit: config.rateLimit
      ? { perMinute: config.rateLimit.perMinute, burst: config.rateLimit.burst ?? config.rateLimit.perMinute }
      : undefined,
    usesScopes: [...rules.values()].some((rule) => rule.scopes.length > 0),
    requiredScopesOf: (service: string) => requiredByService.get(service) ?? [],
    heldScopesOf,
    missingScopesOf(service: string, alternatives: readonly (readonly string[])[], granted: readonly string[]) {
      const have = heldScopesOf(service, granted);
      if (asksEveryAlternative(service)) return findEqualMissingScopes(alternatives, have, impliesOf(service));
      const missing = findMissingScopes(alternatives, have, impliesOf(service));
      return missing === undefined ? undefined : [missing];
    },
  });
}

function withSafety(named: NamedTool, safety: ToolSafety): NamedTool {
  if (named.tool.safety === safety) return named;
  let copies = overridden.get(named);
  if (copies === undefined) {
    copies = new Map();
    overridden.set(named, copies);
  }
  let copy = copies.get(safety);
  if (copy === undefined) {
    const annotations = {
      ...named.tool.annotations,
      readOnlyHint: safety === 'safe',
      destructiveHint: safety === 'destructive',
      idempotentHint: safety === 'safe' ? true : named.tool.annotations.idempotentHint,
    };
    copy = Object.freeze({ ...named, tool: Object.freeze({ ...named.tool, safety, annotations }) });
    copies.set(safety, copy);
  }
  return copy;
}
