import { countTokens } from '../shaping/index.ts';
import type { TenantRuntime } from './build-tenants.ts';

/** What a tenant serves now, as the console's Services and Toolsets pages show it (issue 14). */
export interface TenantInspection {
  readonly services: readonly {
    readonly id: string;
    readonly tools: readonly {
      readonly name: string;
      readonly safety: string;
      /** `read` for safe tools, `write` for the rest (what `access: read` keeps or drops). */
      readonly access: 'read' | 'write';
      readonly scopes: readonly (readonly string[])[];
    }[];
  }[];
  readonly toolsets: readonly {
    readonly id: string;
    /** The names in its `tools/list` answer (with the result and discovery tools the gateway adds). */
    readonly listed: readonly string[];
    /** o200k tokens of its whole `tools/list` answer, as served now. */
    readonly listTokens: number;
  }[];
}

const memo = new WeakMap<TenantRuntime, TenantInspection>();

/** The services and toolsets a tenant's runtime serves, measured once per runtime (a change builds a new one). */
export function inspectTenant(tenant: TenantRuntime): TenantInspection {
  const known = memo.get(tenant);
  if (known !== undefined) return known;
  const inspection: TenantInspection = {
    services: [...tenant.services.values()].map((service) => ({
      id: service.id,
      tools: service.catalog.tools.map(({ name, tool }) => ({
        name,
        safety: tool.safety,
        access: tool.safety === 'safe' ? ('read' as const) : ('write' as const),
        scopes: tool.scopes,
      })),
    })),
    toolsets: [...tenant.toolsets].map(([id, toolset]) => ({
      id,
      listed: toolset.listed.map((tool) => tool.name),
      listTokens: countTokens(JSON.stringify({ tools: toolset.listed })),
    })),
  };
  memo.set(tenant, inspection);
  return inspection;
}
