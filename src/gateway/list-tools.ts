import { findMissingScopes } from '../policy/index.ts';
import type { Store } from '../store/index.ts';
import type { TenantRuntime, ToolsetRuntime } from './build-tenants.ts';
import { connectionOf } from './connection-of.ts';
import type { Caller, ListedTool } from './contract.ts';

/** Filtered lists per (toolset, grants): callers with the same grants share one array. */
const listMemo = new WeakMap<ToolsetRuntime, Map<string, readonly ListedTool[]>>();

/**
 * The `tools/list` use case: the toolset's precomputed list, minus the tools the caller's connections' grants
 * cannot cover (they would be denied with `scope_missing`).
 */
export async function listTools(
  store: Pick<Store, 'connections'>,
  tenant: TenantRuntime,
  toolset: ToolsetRuntime,
  caller: Caller,
): Promise<readonly ListedTool[]> {
  const { policy } = toolset;
  if (!policy.usesScopes || store.connections === undefined) return toolset.listed;
  const grants = new Map<string, readonly string[]>();
  for (const serviceId of new Set([...policy.tools.values()].map((tool) => tool.service))) {
    const service = tenant.services.get(serviceId);
    const granted = service === undefined ? undefined : (await connectionOf(store, caller, service))?.scopes;
    if (granted !== undefined) grants.set(serviceId, granted);
  }
  if (grants.size === 0) return toolset.listed;
  const key = [...grants].map(([service, scopes]) => `${service}=${scopes.join(' ')}`).join('\u0000');
  let byGrant = listMemo.get(toolset);
  if (byGrant === undefined) {
    byGrant = new Map();
    listMemo.set(toolset, byGrant);
  }
  let listed = byGrant.get(key);
  if (listed === undefined) {
    listed = Object.freeze(
      toolset.listed.filter((tool) => {
        const named = policy.tools.get(tool.name);
        const granted = named && grants.get(named.service);
        if (named === undefined || granted === undefined) return true;
        const rules = policy.rules.get(tool.name);
        return (
          rules === undefined ||
          findMissingScopes(rules.scopes, policy.heldScopesOf(named.service, granted)) === undefined
        );
      }),
    );
    if (byGrant.size >= 1_000) byGrant.clear();
    byGrant.set(key, listed);
  }
  return listed;
}
