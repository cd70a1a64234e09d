import { verifyAuditChain } from '../audit/index.ts';
import { type Config, GatehouseError } from '../core/index.ts';
import { openStore, type Store } from '../store/index.ts';
import type { CliContext } from './cli-context.ts';
import type { CommandLine } from './parse-command-line.ts';

/**
 * `gatehouse audit verify --tenant T`: recomputes the tenant's audit hash chain (AU-04). Exit 0 when intact,
 * 1 with the first bad seq otherwise. Opens only the store, without migrating and without the master key: a
 * verification must not change the database it checks. `--json` prints the report as JSON.
 */
export async function runAuditVerify(config: Config, values: CommandLine['values'], context: CliContext) {
  const tenant = values.tenant;
  if (tenant === undefined) throw new GatehouseError('invalid_request', 'audit verify needs --tenant');
  const store = await openStore(config.store, { sqliteNativeBinding: config.sqliteNativeBinding });
  try {
    await requireKnownTenant(config, store, tenant);
    const report = await verifyAuditChain(store.audit, tenant);
    if (values.json) context.stdout.write(`${JSON.stringify(report)}\n`);
    else if (report.ok) {
      const from =
        report.anchorSeq > 0 ? ` (from seq ${report.anchorSeq + 1}; earlier records are pre-chain or pruned)` : '';
      context.stdout.write(`Audit chain of tenant ${tenant} is intact: ${report.checked} records${from}.\n`);
    } else {
      context.stdout.write(
        `Audit chain of tenant ${tenant} is broken at seq ${report.firstBadSeq} (${report.problem}); ${report.checked} records before it verified.\n`,
      );
    }
    return report.ok ? 0 : 1;
  } finally {
    await store.close();
  }
}

/**
 * A tenant is known when the config names it or the store holds its audit chain (a removed tenant's log is kept);
 * anything else is most likely a typo, which must not pass as an intact, empty chain.
 */
async function requireKnownTenant(config: Config, store: Store, tenant: string): Promise<void> {
  if (config.tenants.some((t) => t.id === tenant)) return;
  // A store that was never migrated (nothing ever ran here) holds no tenant at all.
  const orNothing = <T>(read: Promise<T>, nothing: T) => read.catch(() => nothing);
  if ((await orNothing(store.audit.readHead(tenant), undefined)) !== undefined) return;
  const stored = await orNothing(store.tenants.list(), []);
  const known = [...new Set([...config.tenants.map((t) => t.id), ...stored])].sort();
  const close = known.filter((k) => editDistance(k, tenant) <= 2);
  throw new GatehouseError(
    'invalid_request',
    `Unknown tenant '${tenant}'${close.length > 0 ? ` (did you mean ${close.map((k) => `'${k}'`).join(' or ')}?)` : ''}; ` +
      `known tenants: ${known.length > 0 ? known.join(', ') : 'none (pass --config FILE?)'}`,
    { tenant, known },
  );
}

function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++) {
      row[j] = Math.min(
        (previous[j] ?? 0) + 1,
        (row[j - 1] ?? 0) + 1,
        (previous[j - 1] ?? 0) + (a[i - 1] === b[j - 1] ? 0 : 1),
      );
    }
    previous = row;
  }
  return previous[b.length] ?? 0;
}
