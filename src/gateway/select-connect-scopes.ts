import type { ToolsetPolicy } from '../policy/index.ts';

/** The OpenID Connect refresh scope, assumed when a service names no `refreshScope` of its own. */
const defaultRefreshScope = 'offline_access';

/**
 * The scopes a connect link minted by a tool call asks for, for `service` and the caller's toolset
 * (docs/configuration.md, "Connect-time scopes"):
 * - the toolset's tools declare no scope for the service: the service's configured `scopes`;
 * - no configured `scopes`: exactly what the toolset's tools need (`policy.requiredScopesOf`);
 * - otherwise the configured scopes act as a ceiling: each needed scope the configured list holds (for scopes the
 *   operator listed, every equal alternative of a tool among them: Slack `channels:history` and `groups:history`;
 *   for the catalogue's, the first only, `policy.requiredScopesOf`), or the
 *   configured scope implying it (`scopeImplies`); a needed scope the configuration does not cover is not asked
 *   for (its tools stay hidden and are refused `scope_missing`). Configured `openid` and the service's
 *   `refreshScope` (default `offline_access`; Salesforce `refresh_token`) are kept: they grant no API access but
 *   identity and a refresh token, without which the connection dies at the first expiry. When nothing needed is
 *   covered, the configured scopes.
 */
export function selectConnectScopes(
  policy: Pick<ToolsetPolicy, 'requiredScopesOf' | 'heldScopesOf'>,
  service: string,
  configured: readonly string[],
  refreshScope: string = defaultRefreshScope,
): readonly string[] {
  const needed = policy.requiredScopesOf(service);
  if (needed.length === 0) return configured;
  if (configured.length === 0) return needed;
  const selected = new Set<string>();
  for (const scope of needed) {
    if (configured.includes(scope)) {
      selected.add(scope);
      continue;
    }
    const broader = configured.find((candidate) => policy.heldScopesOf(service, [candidate]).has(scope));
    if (broader !== undefined) selected.add(broader);
  }
  if (selected.size === 0) return configured;
  for (const scope of ['openid', refreshScope]) if (configured.includes(scope)) selected.add(scope);
  return [...selected];
}
