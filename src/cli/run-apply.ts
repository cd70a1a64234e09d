import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { stringify } from 'yaml';
import {
  type Config,
  type ConfigTree,
  findLiteralSecrets,
  GatehouseError,
  type ParseConfigOptions,
  parseTenantDocument,
  resolveTenantDocumentPaths,
  systemClock,
  type TenantDocument,
} from '../core/index.ts';
import { createTenantConfigs, reconcileTenantConfigs, refuseTakenKeysOf } from '../gateway/index.ts';
import { parseStoreUrl } from '../store/index.ts';
import type { CliContext } from './cli-context.ts';

/**
 * `gatehouse apply --config F` (issue 14): makes the stored tenant configurations equal to the file's tenants and
 * prints what it changed, resource by resource. The whole file is validated first, and every secret field must be
 * an `${env:NAME}` reference (the store never holds a secret); a client key value must be the file's only one and
 * no other stored key's: a broken file changes nothing and exits 2 naming the field path (`tenants[1]....`). Running processes pick the change up within about a second.
 */
export async function runApply(
  config: Config,
  tree: ConfigTree,
  parseOptions: ParseConfigOptions,
  context: CliContext,
  dryRun = false,
): Promise<number> {
  const raw = (tree.raw as { tenants?: unknown } | null)?.tenants ?? [];
  const documents = (Array.isArray(raw) ? raw : []).map((tenant) =>
    resolveTenantDocumentPaths(tenant as TenantDocument, tree.baseDir),
  );
  const parse = (document: TenantDocument) =>
    parseTenantDocument(document, { ...parseOptions, unresolvedEnv: 'defer' });
  for (const [i, document] of documents.entries()) {
    const literal = findLiteralSecrets(document);
    if (literal.length > 0) {
      throw new GatehouseError(
        'config_invalid',
        `${tree.source}: ${literal.map((p) => `tenants[${i}].${p}`).join(', ')}: apply stores secrets as \${env:NAME} references only; put the value in the environment`,
        { path: `tenants[${i}].${literal[0]}` },
      );
    }
  }
  const adapters = await context.openAdapters(config, context);
  try {
    if (adapters.audit === undefined) throw new GatehouseError('internal', 'The audit log is not open');
    // Checked for the whole file before any tenant is written: a key value two tenants hold, or that a stored key
    // of another tenant holds, would otherwise be refused only when its tenant's turn came, after earlier ones.
    await refuseTakenKeysOf(adapters.store, documents.map(parse), (i) => `tenants[${i}].`);
    const tenantConfigs = createTenantConfigs({
      store: adapters.store,
      audit: adapters.audit,
      clock: systemClock,
      parse,
    });
    const report = await reconcileTenantConfigs(tenantConfigs, documents, {
      actor: 'apply',
      validate: (document) => void parse(document),
      dryRun,
    });
    const out = context.stdout;
    if (report.changed.size === 0) out.write('No change: the store matches the file.\n');
    else if (dryRun) out.write('Dry run: nothing was written; apply without --dry-run would make these changes.\n');
    for (const [tenant, changes] of report.changed) {
      const revision = report.revisions.get(tenant);
      const at = revision === undefined ? '' : dryRun ? ` (at revision ${revision})` : ` (revision ${revision})`;
      out.write(`tenant ${tenant}${at}:\n`);
      for (const change of changes) out.write(`  ${change.change.padEnd(8)} ${change.kind} ${change.id}\n`);
    }
    return 0;
  } finally {
    await adapters.close();
  }
}

/**
 * `gatehouse export --config F`: the stored tenant configurations as a YAML config file that `apply` accepts
 * (its `tenants`; secrets are the `${env:NAME}` references they were stored as, never values).
 */
export async function runExport(config: Config, context: CliContext): Promise<number> {
  // Export only reads: opening a SQLite store that is not there would create an empty one (and a master key with
  // it), and print no tenant as if that were the state.
  const location = parseStoreUrl(config.store);
  if (location.dialect === 'sqlite' && location.path !== ':memory:' && !existsSync(location.path)) {
    throw new GatehouseError(
      'config_invalid',
      `store: there is no store at ${resolve(location.path)}, so nothing to export; nothing was created`,
      { path: 'store' },
    );
  }
  const adapters = await context.openAdapters(config, context);
  try {
    const tenants: unknown[] = [];
    for (const { tenantId } of await adapters.store.tenantConfigs.list()) {
      const stored = await adapters.store.tenantConfigs.read(tenantId);
      if (stored !== undefined) tenants.push(stored.document);
    }
    context.stdout.write(
      `# gatehouse export: the stored tenant configurations (apply with: gatehouse apply --config FILE)\n${stringify({ tenants }, { lineWidth: 0 })}`,
    );
    return 0;
  } finally {
    await adapters.close();
  }
}
