import { randomBytes } from 'node:crypto';
import { chmodSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { type Config, GatehouseError } from '../core/index.ts';
import { developmentKeyFileName, parseMasterKeys } from '../vault/index.ts';
import type { CliContext } from './cli-context.ts';

/**
 * `gatehouse vault rotate`: adds a new master key version to the key file (the configured `masterKeyFile`, or the
 * development key in the data folder). New data keys are wrapped with the newest version from the next start on;
 * `gatehouse vault rewrap` then moves every existing data key to it. A master key given in the environment cannot
 * be rotated here: the operator adds the version to GATEHOUSE_MASTER_KEY.
 */
export function runVaultRotate(config: Config, context: CliContext): number {
  if (config.masterKey !== undefined) {
    throw new GatehouseError(
      'invalid_request',
      'The master key comes from GATEHOUSE_MASTER_KEY (or masterKey): add a version there instead, e.g. ' +
        "GATEHOUSE_MASTER_KEY='1:<current key>,2:<new key>' with the new key from `openssl rand -base64 32`; " +
        'restart every process, then run `gatehouse vault rewrap`',
    );
  }
  const file = config.masterKeyFile ?? join(config.dataDir, developmentKeyFileName);
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    throw new GatehouseError(
      'config_invalid',
      `Cannot read the master key file ${file}: ${(error as NodeJS.ErrnoException).code ?? 'error'}`,
      { file },
    );
  }
  const entries = parseMasterKeys(text, file);
  const next = Math.max(...entries.map((e) => e.version)) + 1;
  for (const entry of entries) entry.key.fill(0);
  // A single bare key is version 1; write it out with its version so the file stays unambiguous.
  const versioned = /^\s*\d+:/m.test(text) ? text : text.replace(/^([^#\s].*)$/m, '1:$1');
  const updated = `${versioned.replace(/\s*$/, '\n')}${next}:${randomBytes(32).toString('base64')}\n`;
  const temporary = `${file}.${process.pid}.tmp`;
  writeFileSync(temporary, updated, { mode: 0o600 });
  chmodSync(temporary, 0o600);
  renameSync(temporary, file);
  context.stdout.write(
    `Added master key version ${next} to ${file}. Restart every gateway process (new data keys use version ${next}), ` +
      'then run `gatehouse vault rewrap`; keep the old versions until rewrap reports every record on the newest.\n',
  );
  return 0;
}

/**
 * `gatehouse vault rewrap`: re-wraps every tenant's data keys with the newest master key version (resumable: run it
 * again after an interruption), then checks that nothing is left on an older version. Exit 1 when something is.
 */
export async function runVaultRewrap(config: Config, context: CliContext): Promise<number> {
  const adapters = await context.openAdapters(config, context);
  try {
    const tenants = [...new Set([...(await adapters.store.tenants.list()), ...config.tenants.map((t) => t.id)])];
    const report = await adapters.vault.rewrapDataKeys(tenants);
    const check = await adapters.vault.checkAllOnVersion(tenants);
    context.stdout.write(
      `Rewrapped ${report.rewrapped} data key(s) to master key version ${report.masterKeyVersion} ` +
        `(${report.alreadyCurrent} already current). ` +
        (check.ok
          ? `All ${check.checked} data key(s) are on the newest version: older master key versions can be retired.\n`
          : `${check.stale.length} data key(s) are still on an older version; run rewrap again.\n`),
    );
    return check.ok ? 0 : 1;
  } finally {
    await adapters.close();
  }
}
