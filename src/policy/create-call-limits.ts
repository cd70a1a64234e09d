import { GatehouseError, type TenantConfig, type ToolsetConfig } from '../core/index.ts';
import type { Limiter, LimitRule } from '../store/index.ts';
import { mostSpecificByGlob } from './pick-by-glob.ts';

/** Who is calling, as the limits count it: ids and names from the verified client key, never a secret. */
export interface LimitedCaller {
  readonly tenant: string;
  readonly toolset: string;
  readonly keyId: string;
  readonly subject: string;
}

type ScopedLimit = NonNullable<ToolsetConfig['rateLimit']>;

/**
 * The limits of one toolset, compiled once at start and carried by the toolset's runtime: `plan` lists the rules
 * one call is counted against (empty when the toolset and its tenant have no limit).
 */
export interface ToolsetLimits {
  /** The rules one call of `tool` is counted against; `leaseMs` bounds a concurrency slot whose release never comes. */
  plan(caller: LimitedCaller, tool: string, leaseMs: number): readonly LimitRule[];
}

/** Releases the concurrency slots of an admitted call. Idempotent. */
export type ReleaseLimits = () => void;

const releaseNothing: ReleaseLimits = () => {};

/**
 * Step 4 of DESIGN.md §7, compiled for one toolset: the rate and concurrency limits of a tool call, from the
 * tenant's and toolset's config. Limits (each optional):
 * - `tenant`: the tenant's `rateLimit`, over all its toolsets;
 * - `toolset`: the toolset's `rateLimit`, counted per toolset, client key or subject (`per`);
 * - `tool`: the most specific `limits.toolRateLimits` glob matching the tool (`pickByGlob`), counted per tool (and
 *   per client key or subject);
 * - `limits.concurrency.perKey` / `.perTool`: calls in flight per client key / per tool in the toolset.
 * Counter keys hold tenant, toolset, key id, subject (URI-encoded) and tool names only.
 */
export function compileToolsetLimits(
  tenantRateLimit: TenantConfig['rateLimit'],
  toolset: Pick<ToolsetConfig, 'limits' | 'rateLimit'>,
): ToolsetLimits {
  const toolRateLimitOf = mostSpecificByGlob(toolset.limits.toolRateLimits);
  const { perKey, perTool } = toolset.limits.concurrency ?? {};
  const empty =
    tenantRateLimit === undefined &&
    toolset.rateLimit === undefined &&
    Object.keys(toolset.limits.toolRateLimits).length === 0 &&
    perKey === undefined &&
    perTool === undefined;
  return {
    plan(caller, tool, leaseMs) {
      if (empty) return [];
      const rules: LimitRule[] = [];
      const base = `${caller.tenant}:ts:${caller.toolset}`;
      if (tenantRateLimit) {
        const { perMinute, burst } = tenantRateLimit;
        rules.push({ kind: 'rate', key: `${caller.tenant}:t`, limit: 'tenant', perMinute, burst: burst ?? perMinute });
      }
      if (toolset.rateLimit) rules.push(scopedRule(toolset.rateLimit, base, 'toolset', caller));
      const toolLimit = toolRateLimitOf(tool);
      if (toolLimit) rules.push(scopedRule(toolLimit, `${base}:tool:${tool}`, 'tool', caller));
      if (perKey !== undefined) {
        rules.push({
          kind: 'concurrency',
          key: `${base}:inflight:k:${encodeURIComponent(caller.keyId)}`,
          limit: 'concurrency.perKey',
          maxInFlight: perKey,
          leaseMs,
        });
      }
      if (perTool !== undefined) {
        rules.push({
          kind: 'concurrency',
          key: `${base}:inflight:tool:${tool}`,
          limit: 'concurrency.perTool',
          maxInFlight: perTool,
          leaseMs,
        });
      }
      return rules;
    },
  };
}

/**
 * Admits one call under a toolset's limits in one atomic `Limiter.admit`, or throws `rate_limited` with
 * `details.limit` naming the limit and `details.retryAfterSeconds` (>= 1). The returned function releases the
 * call's concurrency slots.
 */
export async function admitCallLimits(
  limiter: Limiter,
  limits: ToolsetLimits,
  caller: LimitedCaller,
  tool: string,
  leaseMs: number,
): Promise<ReleaseLimits> {
  const rules = limits.plan(caller, tool, leaseMs);
  if (rules.length === 0) return releaseNothing;
  const decision = await limiter.admit(rules);
  if (decision.admitted) return decision.release;
  const inFlight = decision.limit.startsWith('concurrency.');
  throw new GatehouseError(
    'rate_limited',
    inFlight
      ? `Too many calls in flight (${decision.limit} of toolset ${caller.toolset}); retry in ${decision.retryAfterSeconds} s`
      : `Rate limit '${decision.limit}' of toolset ${caller.toolset} reached; retry in ${decision.retryAfterSeconds} s`,
    { limit: decision.limit, retryAfterSeconds: decision.retryAfterSeconds },
  );
}

/**
 * The rate limits of `limits` alone, without its concurrency slots: for a request that continues a call already
 * admitted (a relayed call's retry), which holds its slot until the call ends.
 */
export function rateLimitsOf(limits: ToolsetLimits): ToolsetLimits {
  return { plan: (caller, tool, leaseMs) => limits.plan(caller, tool, leaseMs).filter((rule) => rule.kind === 'rate') };
}

/** The limits of every toolset of a config, by tenant and toolset id (for callers that hold no runtime). */
export function createCallLimits(tenants: readonly TenantConfig[], limiter: Limiter) {
  const byToolset = new Map<string, ToolsetLimits>();
  for (const tenant of tenants) {
    for (const toolset of tenant.toolsets) {
      byToolset.set(`${tenant.id}/${toolset.id}`, compileToolsetLimits(tenant.rateLimit, toolset));
    }
  }
  const none: ToolsetLimits = { plan: () => [] };
  const limitsOf = (caller: LimitedCaller) => byToolset.get(`${caller.tenant}/${caller.toolset}`) ?? none;
  return {
    plan: (caller: LimitedCaller, tool: string, leaseMs: number) => limitsOf(caller).plan(caller, tool, leaseMs),
    admit: (caller: LimitedCaller, tool: string, leaseMs: number) =>
      admitCallLimits(limiter, limitsOf(caller), caller, tool, leaseMs),
  };
}

export type CallLimits = ReturnType<typeof createCallLimits>;

function scopedRule(limit: ScopedLimit, base: string, name: string, caller: LimitedCaller): LimitRule {
  const burst = limit.burst ?? limit.perMinute;
  const { perMinute } = limit;
  switch (limit.per) {
    case 'clientKey':
      return {
        kind: 'rate',
        key: `${base}:k:${encodeURIComponent(caller.keyId)}`,
        limit: `${name}.clientKey`,
        perMinute,
        burst,
      };
    case 'subject':
      return {
        kind: 'rate',
        key: `${base}:s:${encodeURIComponent(caller.subject)}`,
        limit: `${name}.subject`,
        perMinute,
        burst,
      };
    default:
      return { kind: 'rate', key: base, limit: name, perMinute, burst };
  }
}
