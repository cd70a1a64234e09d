import { verifyAuditChain } from '../audit/index.ts';
import { type Config, GatehouseError } from '../core/index.ts';
import { openStore } from '../store/index.ts';
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
  const store = await openStore(config.store);
  try {
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
