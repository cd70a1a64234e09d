import { GatehouseError, type TenantConfig, type ToolsetConfig } from '../core/index.ts';
import type { Limiter, LimitRule } from '../store/index.ts';
import { matchToolGlob } from './match-tool-glob.ts';

/** Who is calling, as the limits count it: ids and names from the verified client key, never a secret. */
export interface LimitedCaller {
  readonly tenant: string;
  readonly toolset: string;
  readonly keyId: string;
  readonly subject: string;
}

type ScopedLimit = NonNullable<ToolsetConfig['rateLimit']>;

interface ToolsetLimits {
  readonly tenant: TenantConfig['rateLimit'];
  readonly toolset: ScopedLimit | undefined;
  readonly tools: readonly { readonly matches: (name: string) => boolean; readonly limit: ScopedLimit }[];
  readonly concurrency: ToolsetConfig['concurrency'];
  readonly empty: boolean;
}

/** Releases the concurrency slots of an admitted call. Idempotent. */
export type ReleaseLimits = () => void;

const releaseNothing: ReleaseLimits = () => {};

/**
 * Step 4 of DESIGN.md §7: the rate and concurrency limits of a tool call, from the tenant's and toolset's
 * config, decided in one atomic `Limiter.admit`. Limits (each optional):
 * - `tenant`: the tenant's `rateLimit`, over all its toolsets;
 * - `toolset`: the toolset's `rateLimit`, counted per toolset, client key or subject (`per`);
 * - `tool`: the first `toolLimits` glob matching the tool, counted per tool (and per client key or subject);
 * - `concurrency.perKey` / `concurrency.perTool`: calls in flight per client key / per tool in the toolset.
 *
 * A refusal throws `rate_limited` with `details.limit` naming the limit and `details.retryAfterSeconds` (>= 1).
 * Counter keys hold tenant, toolset, key id, subject (URI-encoded) and tool names only.
 */
export function createCallLimits(tenants: readonly TenantConfig[], limiter: Limiter) {
  const byToolset = new Map<string, ToolsetLimits>();
  for (const tenant of tenants) {
    for (const toolset of tenant.toolsets) {
      const tools = Object.entries(toolset.toolLimits).map(([glob, limit]) => ({
        matches: matchToolGlob([glob]),
        limit,
      }));
      const concurrency = toolset.concurrency;
      byToolset.set(`${tenant.id}/${toolset.id}`, {
        tenant: tenant.rateLimit,
        toolset: toolset.rateLimit,
        tools,
        concurrency,
        empty:
          tenant.rateLimit === undefined &&
          toolset.rateLimit === undefined &&
          tools.length === 0 &&
          concurrency?.perKey === undefined &&
          concurrency?.perTool === undefined,
      });
    }
  }

  /** The rules one call is counted against; `leaseMs` bounds a concurrency slot whose release never comes. */
  function plan(caller: LimitedCaller, tool: string, leaseMs: number): LimitRule[] {
    const limits = byToolset.get(`${caller.tenant}/${caller.toolset}`);
    if (limits === undefined || limits.empty) return [];
    const rules: LimitRule[] = [];
    const base = `${caller.tenant}:ts:${caller.toolset}`;
    if (limits.tenant) {
      const { perMinute, burst } = limits.tenant;
      rules.push({ kind: 'rate', key: `${caller.tenant}:t`, limit: 'tenant', perMinute, burst: burst ?? perMinute });
    }
    if (limits.toolset) rules.push(scopedRule(limits.toolset, base, 'toolset', caller));
    const toolLimit = limits.tools.find((t) => t.matches(tool));
    if (toolLimit) rules.push(scopedRule(toolLimit.limit, `${base}:tool:${tool}`, 'tool', caller));
    const { perKey, perTool } = limits.concurrency ?? {};
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
  }

  return {
    plan,
    /** Admits the call or throws `rate_limited`; the returned function releases its concurrency slots. */
    async admit(caller: LimitedCaller, tool: string, leaseMs: number): Promise<ReleaseLimits> {
      const rules = plan(caller, tool, leaseMs);
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
    },
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
