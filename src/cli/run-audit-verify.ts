import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { loadAuditCheckpointKey, verifyAuditChain } from '../audit/index.ts';
import { type Config, editDistance, GatehouseError, isGatehouseError, systemClock } from '../core/index.ts';
import { openStore, redactStoreUrl, type Store } from '../store/index.ts';
import { createVault, developmentKeyFileName, loadMasterKeys } from '../vault/index.ts';
import type { CliContext } from './cli-context.ts';
import type { CommandLine } from './parse-command-line.ts';

/**
 * `gatehouse audit verify --tenant T [--checkpoint SEQ:HASH]`: recomputes the tenant's audit hash chain (AU-04)
 * and checks its signed checkpoints. Exit 0 when intact, 1 with the first bad seq and the problem otherwise.
 * Opens only the store, without migrating: a verification must not change the database it checks. Checkpoint
 * MACs need the master key (as `serve` finds it: masterKey, masterKeyFile, or the development key file when one
 * exists; none is ever generated here); without it a tenant that has checkpoints fails with
 * `checkpoint_key_unavailable`. `--checkpoint` names a checkpoint kept outside the database (an earlier report's
 * `checkpointSeq:checkpointHash`) that the chain must still hold; one below the anchor passes only when the anchor
 * is signed (retention pruned it), one above the head is `missing_tail`. An anchor without a valid MAC is
 * `anchor_forged`. `--json` prints the report as JSON.
 */
export async function runAuditVerify(config: Config, values: CommandLine['values'], context: CliContext) {
  const tenant = values.tenant;
  if (tenant === undefined) throw new GatehouseError('invalid_request', 'audit verify needs --tenant');
  const expect = parseCheckpoint(values.checkpoint);
  const store = await openStore(config.store, { sqliteNativeBinding: config.sqliteNativeBinding });
  try {
    await requireKnownTenant(config, store, tenant);
    const { key: checkpointKey, missing } = await loadCheckpointKey(config, store, tenant, context);
    const report = await verifyAuditChain(store.audit, tenant, {
      ...(checkpointKey ? { checkpointKey } : {}),
      ...(expect ? { expect } : {}),
    });
    checkpointKey?.fill(0);
    if (values.json) context.stdout.write(`${JSON.stringify(report)}\n`);
    else if (report.ok) {
      const from =
        report.anchor === 'signed'
          ? ` (from seq ${report.anchorSeq + 1}; records through seq ${report.anchorSeq} were pruned by retention, as its signed anchor proves)`
          : report.anchorSeq > 0
            ? ` (from seq ${report.anchorSeq + 1}; earlier records are pre-chain or were pruned before anchors were signed)`
            : '';
      const outside =
        report.expected === 'pruned'
          ? ` The checkpoint ${expect?.seq}:… is below the anchor: the records it covered were pruned by retention.`
          : report.expected === 'anchor'
            ? ` The checkpoint ${expect?.seq}:… is the anchor's hash.`
            : report.expected === 'matched'
              ? ` The checkpoint ${expect?.seq}:… matches.`
              : '';
      const anchored =
        report.checkpointSeq === null
          ? ' No signed checkpoint covers them yet.'
          : ` Signed checkpoints verified through seq ${report.checkpointSeq} (${report.checkpointSeq}:${report.checkpointHash}); ${report.headSeq - report.checkpointSeq} later record(s) are covered by the chain alone.`;
      context.stdout.write(
        `Audit chain of tenant ${tenant} is intact: ${report.checked} records${from}.${anchored}${outside}\n`,
      );
    } else if (report.problem === 'anchor_forged') {
      context.stdout.write(
        `Audit chain of tenant ${tenant} is broken: its anchor (seq ${report.anchorSeq}, where verification starts; everything at or below it is gone) was not set by the gateway (anchor_forged: its MAC is missing or wrong). Records may have been deleted or rewritten.\n`,
      );
    } else if (report.problem === 'checkpoint_pruned') {
      context.stdout.write(
        `Audit chain of tenant ${tenant}: the checkpoint at seq ${report.firstBadSeq} is below the anchor (seq ${report.anchorSeq}), and no signed anchor proves retention pruned it (checkpoint_pruned); the records it covered are gone.\n`,
      );
    } else if (report.firstBadSeq === null) {
      context.stdout.write(
        missing === 'unsealable'
          ? `Audit chain of tenant ${tenant} cannot be fully verified (${report.problem}): the configured master key does not unseal the tenant's audit key. The key is wrong or changed (use the one this store was written with), or the tenant's data keys were destroyed by tenant purge.\n`
          : `Audit chain of tenant ${tenant} cannot be fully verified (${report.problem}): its checkpoints and signed anchor need the master key, and none is configured (GATEHOUSE_MASTER_KEY, masterKeyFile, or the development key in the data folder).\n`,
      );
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

function parseCheckpoint(value: string | undefined): { seq: number; hash: string } | undefined {
  if (value === undefined) return undefined;
  const match = /^(\d{1,15}):([0-9a-f]{64})$/.exec(value);
  if (!match) {
    throw new GatehouseError('invalid_request', '--checkpoint must be SEQ:HASH (a seq and 64 hex digits)', {
      option: 'checkpoint',
    });
  }
  return { seq: Number(match[1]), hash: match[2] as string };
}

/** The tenant's checkpoint key, when a master key is available without generating one. */
async function loadCheckpointKey(
  config: Config,
  store: Store,
  tenant: string,
  context: CliContext,
): Promise<{ readonly key?: Buffer; readonly missing?: 'no_master_key' | 'unsealable' }> {
  const configured = config.masterKey !== undefined || config.masterKeyFile !== undefined;
  if (!configured && (config.mode === 'production' || !existsSync(join(config.dataDir, developmentKeyFileName)))) {
    return { missing: 'no_master_key' };
  }
  const masterKeys = loadMasterKeys({
    mode: config.mode,
    masterKey: config.masterKey,
    masterKeyFile: config.masterKeyFile,
    dataDir: config.dataDir,
    warn: (message) => context.stderr.write(`gatehouse: warning: ${message}\n`),
  });
  const vault = createVault({ dataKeys: store.dataKeys, masterKeys, clock: systemClock });
  try {
    return { key: await loadAuditCheckpointKey(store.audit, vault, tenant) };
  } catch (error) {
    // After `tenant purge` (data keys destroyed, log kept), with another master key, or a tampered sealed key, the
    // checkpoint key cannot be unsealed: the checkpoints cannot be checked, which verify reports (exit 1).
    if (!isGatehouseError(error) || error.code !== 'decrypt_failed') throw error;
    context.stderr.write(
      `gatehouse: warning: the audit key of tenant ${tenant} cannot be unsealed (${String(error.details['reason'] ?? 'decrypt_failed')})\n`,
    );
    return { missing: 'unsealable' };
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
    `Unknown tenant '${tenant}' in store ${redactStoreUrl(config.store)}` +
      `${close.length > 0 ? ` (did you mean ${close.map((k) => `'${k}'`).join(' or ')}?)` : ''}; ` +
      `known tenants: ${known.length > 0 ? known.join(', ') : 'none (pass --config FILE?)'}`,
    { tenant, known },
  );
}
