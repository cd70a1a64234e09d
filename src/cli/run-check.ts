import { isIP } from 'node:net';
import { builtInCatalogRoot, checkRedirectUriRule, loadProviders } from '../catalog/index.ts';
import { adminTokenWeakness, type Config } from '../core/index.ts';
import { inspectConfig, inspectOverlays, inspectReadOnlyLinkScopes, inspectSafeWrites } from '../gateway/index.ts';
import { isBlockedAddress } from '../upstream/index.ts';
import type { CliContext } from './cli-context.ts';
import { formatTable } from './format-table.ts';

/** Something `check` found that is valid but will not work as the operator probably expects. */
export interface CheckWarning {
  readonly code:
    | 'env_unset'
    | 'private_upstream'
    | 'redirect_uri_rule'
    | 'safe_write'
    | 'unsafe_opt_out'
    | 'weak_admin_token'
    | 'write_default_scope';
  /** Field path, e.g. `tenants[0].services[0].baseUrl`. */
  readonly path: string;
  readonly message: string;
}

/** Something `check` points out that is valid and intended, but that a person may not expect. */
export interface CheckNote {
  readonly code: 'optional_reach';
  /** Field path, e.g. `tenants[0].services[0].scopes`. */
  readonly path: string;
  readonly message: string;
}

/** `gatehouse check`: the config is valid (or this never runs), then each toolset's tools and token sizes. */
export async function runCheck(config: Config, json: boolean, context: CliContext): Promise<number> {
  const reports = inspectConfig(config);
  const overlays = inspectOverlays(config);
  const warnings = [
    ...collectCheckWarnings(config),
    ...inspectSafeWrites(config).map((w) => ({ code: 'safe_write' as const, ...w })),
  ];
  const notes = collectOptionalReach(config);
  if (json) {
    context.stdout.write(`${JSON.stringify({ valid: true, warnings, notes, toolsets: reports, overlays }, null, 2)}\n`);
    return 0;
  }
  context.stdout.write(`Configuration is valid: ${config.tenants.length} tenant(s).\n`);
  for (const warning of warnings) context.stdout.write(`  warning: ${warning.path}: ${warning.message}\n`);
  for (const note of notes) context.stdout.write(`  note: ${note.path}: ${note.message}\n`);
  for (const report of reports) {
    context.stdout.write(
      `\n${report.tenant}/${report.toolset}: ${report.tools.length} tool(s), tools/list = ${report.listTokens} tokens${report.discovery ? ' (discovery meta-tools)' : ''}\n`,
    );
    // A toolset of remote tools only would print an empty table: its tools are known once the servers are listed.
    context.stdout.write(
      report.tools.length === 0 && report.remoteServices.length > 0
        ? `  tools: listed from remote MCP server(s) ${report.remoteServices.join(', ')} when the gateway starts (check reads no server)\n`
        : formatTable(
            ['tool', 'safety', 'tokens'],
            report.tools.map((t) => [t.name, t.safety, String(t.tokens)]),
          ),
    );
    // The rest of tools/list, so the rows and the total agree.
    if (report.alwaysListed.length > 0) {
      const listed = report.alwaysListed.map((t) => `${t.name} ${t.tokens}`).join(', ');
      context.stdout.write(`  also listed: ${listed} tokens\n`);
    }
    for (const problem of report.problems) context.stdout.write(`  warning: ${problem}\n`);
    for (const note of report.notes) context.stdout.write(`  note: ${note}\n`);
  }
  if (overlays.length > 0) {
    context.stdout.write(`\nTool overlays: ${overlays.length} tool(s), before -> after\n`);
    context.stdout.write(
      formatTable(
        ['tenant/service', 'operation', 'before', 'after', 'safety', 'arguments', 'tokens'],
        overlays.map((o) => [
          `${o.tenant}/${o.service}`,
          o.operation,
          o.before.name,
          o.after.name,
          o.before.safety === o.after.safety ? o.after.safety : `${o.before.safety} -> ${o.after.safety}`,
          `${o.before.arguments.length} -> ${o.after.arguments.length}`,
          `${o.before.tokens} -> ${o.after.tokens}`,
        ]),
      ),
    );
  }
  return 0;
}

/**
 * Environment variables `serve` will need but that are not set, and service base URLs (or `mcp:` server URLs) the SSRF guard will refuse
 * at call time (loopback and private literal addresses, `localhost`) unless the host is in
 * `unsafeAllowPrivateUpstreams`. No DNS lookups: a name that resolves to a private address is still only caught
 * at call time.
 */
export function collectCheckWarnings(config: Config): CheckWarning[] {
  const warnings: CheckWarning[] = config.unresolvedEnv.map(({ path, variable }) => ({
    code: 'env_unset',
    path,
    message: `environment variable ${variable} is not set; serve needs it`,
  }));
  const allowed = new Set(config.unsafeAllowPrivateUpstreams.map(toBareHost));
  config.tenants.forEach((tenant, t) => {
    tenant.services.forEach((service, s) => {
      // An `mcp:` server's URL goes through the same guard as a base URL (listing it at start included).
      const field = service.baseUrl !== undefined ? 'baseUrl' : service.mcp !== undefined ? 'mcp' : undefined;
      const url = field === undefined ? undefined : service[field];
      // A per-connection origin (`{instanceUrl}/...`) is known only once an account connects.
      const parsed = url === undefined ? null : URL.parse(url);
      if (field === undefined || parsed === null) return;
      const host = toBareHost(parsed.hostname);
      if (allowed.has(host) || !isPrivateHost(host)) return;
      warnings.push({
        code: 'private_upstream',
        path: `tenants[${t}].services[${s}].${field}`,
        message:
          `${host} is a loopback or private address: calls to it are refused unless you list it in ` +
          `unsafeAllowPrivateUpstreams (top-level), e.g. unsafeAllowPrivateUpstreams: ["${host}"]`,
      });
    });
  });
  const weakness = adminTokenWeakness(config.adminToken);
  if (weakness !== undefined) {
    warnings.push({ code: 'weak_admin_token', path: 'adminToken', message: `${weakness.problem}; ${weakness.fix}` });
  }
  warnings.push(
    ...collectWriteDefaultScopes(config),
    ...collectRedirectUriRules(config),
    ...collectUnsafeOptOuts(config),
  );
  return warnings;
}

/** The opt-outs of a person's sign-in on the approval and connect pages: valid, but the operator should see them. */
function collectUnsafeOptOuts(config: Config): CheckWarning[] {
  const warnings: CheckWarning[] = [];
  if (config.approvals.unsafeLinkAloneApproves) {
    warnings.push({
      code: 'unsafe_opt_out',
      path: 'approvals.unsafeLinkAloneApproves',
      message:
        'whoever opens an approval link decides, without signing in: an agent that can fetch URLs can approve its own call',
    });
  }
  if (config.connectLinks.unsafeLinkAloneConnects) {
    warnings.push({
      code: 'unsafe_opt_out',
      path: 'connectLinks.unsafeLinkAloneConnects',
      message:
        "whoever opens a connect link of a key's subject (or the shared connection) connects their own account to it, without signing in",
    });
  }
  return warnings;
}

/** Provider services whose provider will not let an app register `{publicUrl}/oauth/callback` (Slack: HTTPS only). */
function collectRedirectUriRules(config: Config): CheckWarning[] {
  const warnings: CheckWarning[] = [];
  const redirectUri = `${config.publicUrl}/oauth/callback`;
  config.tenants.forEach((tenant, t) => {
    tenant.services.forEach((service, s) => {
      if (service.provider === undefined || service.auth.type !== 'oauth2') return;
      const provider = loadProviders(builtInCatalogRoot).byId.get(service.provider);
      if (provider?.auth.type !== 'oauth2') return;
      const verdict = checkRedirectUriRule(provider.name, provider.auth, redirectUri);
      if (verdict === undefined || !verdict.broken) return;
      warnings.push({
        code: 'redirect_uri_rule',
        path: `tenants[${t}].services[${s}]`,
        message: `${verdict.rule}: ${redirectUri} cannot be registered, so connecting fails; set publicUrl to an HTTPS address (a tunnel or a reverse proxy; docs/providers.md#redirect-uri-to-register)`,
      });
    });
  });
  return warnings;
}

/**
 * Provider services on the catalogue's scopes (none listed in the config) whose toolsets expose a tool that a
 * provider's `optionalReach` scopes would widen: the links ask the first alternative only (Slack: public channels),
 * so the note names what that leaves out and the scopes to list.
 */
function collectOptionalReach(config: Config): CheckNote[] {
  const notes: CheckNote[] = [];
  const reports = inspectConfig(config);
  config.tenants.forEach((tenant, t) => {
    tenant.services.forEach((service, s) => {
      if (service.provider === undefined || service.scopesFromCatalogue !== true) return;
      const provider = loadProviders(builtInCatalogRoot).byId.get(service.provider);
      if (provider?.auth.type !== 'oauth2' || provider.auth.optionalReach.length === 0) return;
      const exposed = reports
        .filter((report) => report.tenant === tenant.id)
        .flatMap((report) => report.tools.map((tool) => tool.name))
        .filter((name) => name.startsWith(`${service.id}_`));
      if (exposed.length === 0) return;
      const left = provider.auth.optionalReach.map((entry) => `${entry.reach} (add ${entry.scopes.join(', ')})`);
      notes.push({
        code: 'optional_reach',
        path: `tenants[${t}].services[${s}].scopes`,
        message: `service ${service.id} lists no scopes, so its connect links ask only the narrowest scopes its tools take and leave out ${left.join('; ')}: list them in scopes: with the ones you need (docs/providers.md)`,
      });
    });
  });
  return notes;
}

/**
 * Provider services that ask for the provider's default scopes (no `scopes:` of their own) where those include a
 * write scope: the connection could then change data even when every toolset is read-only.
 */
function collectWriteDefaultScopes(config: Config): CheckWarning[] {
  const warnings: CheckWarning[] = [];
  const services = config.tenants.flatMap((tenant, t) => tenant.services.map((service, s) => ({ service, t, s })));
  if (!services.some(({ service }) => service.provider !== undefined)) return warnings;
  const catalogue = loadProviders(builtInCatalogRoot);
  for (const { service, t, s } of services) {
    const provider = service.provider === undefined ? undefined : catalogue.byId.get(service.provider);
    if (provider?.auth.type !== 'oauth2' || service.auth.type !== 'oauth2') continue;
    const defaults = provider.auth.defaultScopes;
    const requested = service.auth.scopes;
    if (requested.length !== defaults.length || !defaults.every((scope) => requested.includes(scope))) continue;
    const writes = provider.auth.scopes.filter((scope) => scope.access === 'write' && defaults.includes(scope.name));
    if (writes.length === 0) continue;
    warnings.push({
      code: 'write_default_scope',
      path: `tenants[${t}].services[${s}].scopes`,
      message: `${provider.name}'s default scopes include write scope(s) ${writes.map((w) => w.name).join(', ')}; set scopes: to ask only for what the toolsets need`,
    });
  }
  // Beyond the defaults: whatever the configured scopes, a read-only toolset's link should not ask to write.
  for (const link of inspectReadOnlyLinkScopes(config)) {
    const service = config.tenants[link.tenantIndex]?.services[link.serviceIndex];
    const provider = service?.provider === undefined ? undefined : catalogue.byId.get(service.provider);
    if (provider?.auth.type !== 'oauth2') continue;
    const writeScopes = new Set(provider.auth.scopes.filter((s) => s.access === 'write').map((s) => s.name));
    const writes = link.scopes.filter((scope) => writeScopes.has(scope));
    if (writes.length === 0) continue;
    warnings.push({
      code: 'write_default_scope',
      path: `tenants[${link.tenantIndex}].toolsets[${link.toolsetIndex}]`,
      message: `read-only toolset ${link.toolset}'s connect link for service ${link.service} would ask write scope(s) ${writes.join(', ')}; set the service's scopes: to read scopes only (or a separate service for this toolset)`,
    });
  }
  return warnings;
}

function toBareHost(host: string): string {
  return host.toLowerCase().replace(/^\[(.*)\]$/, '$1');
}

function isPrivateHost(host: string): boolean {
  if (host === 'localhost' || host.endsWith('.localhost')) return true;
  return isIP(host) !== 0 && isBlockedAddress(host);
}
