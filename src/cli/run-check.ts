import { isIP } from 'node:net';
import type { Config } from '../core/index.ts';
import { inspectConfig, inspectOverlays } from '../gateway/index.ts';
import { isBlockedAddress } from '../upstream/index.ts';
import type { CliContext } from './cli-context.ts';
import { formatTable } from './format-table.ts';

/** Something `check` found that is valid but will not work as the operator probably expects. */
export interface CheckWarning {
  readonly code: 'env_unset' | 'private_upstream';
  /** Field path, e.g. `tenants[0].services[0].baseUrl`. */
  readonly path: string;
  readonly message: string;
}

/** `gatehouse check`: the config is valid (or this never runs), then each toolset's tools and token sizes. */
export async function runCheck(config: Config, json: boolean, context: CliContext): Promise<number> {
  const reports = inspectConfig(config);
  const overlays = inspectOverlays(config);
  const warnings = collectCheckWarnings(config);
  if (json) {
    context.stdout.write(`${JSON.stringify({ valid: true, warnings, toolsets: reports, overlays }, null, 2)}\n`);
    return 0;
  }
  context.stdout.write(`Configuration is valid: ${config.tenants.length} tenant(s).\n`);
  for (const warning of warnings) context.stdout.write(`  warning: ${warning.path}: ${warning.message}\n`);
  for (const report of reports) {
    context.stdout.write(
      `\n${report.tenant}/${report.toolset}: ${report.tools.length} tool(s), tools/list = ${report.listTokens} tokens\n`,
    );
    context.stdout.write(
      formatTable(
        ['tool', 'safety', 'tokens'],
        report.tools.map((t) => [t.name, t.safety, String(t.tokens)]),
      ),
    );
    for (const problem of report.problems) context.stdout.write(`  warning: ${problem}\n`);
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
 * Environment variables `serve` will need but that are not set, and service base URLs the SSRF guard will refuse
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
      // A per-connection origin (`{instanceUrl}/...`) is known only once an account connects.
      if (service.baseUrl === undefined || !URL.canParse(service.baseUrl)) return;
      const host = toBareHost(new URL(service.baseUrl).hostname);
      if (allowed.has(host) || !isPrivateHost(host)) return;
      warnings.push({
        code: 'private_upstream',
        path: `tenants[${t}].services[${s}].baseUrl`,
        message:
          `${host} is a loopback or private address: calls to it are refused unless you list it in ` +
          `unsafeAllowPrivateUpstreams (top-level), e.g. unsafeAllowPrivateUpstreams: ["${host}"]`,
      });
    });
  });
  return warnings;
}

function toBareHost(host: string): string {
  return host.toLowerCase().replace(/^\[(.*)\]$/, '$1');
}

function isPrivateHost(host: string): boolean {
  if (host === 'localhost' || host.endsWith('.localhost')) return true;
  return isIP(host) !== 0 && isBlockedAddress(host);
}
