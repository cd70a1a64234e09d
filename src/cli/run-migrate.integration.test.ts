import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { applicationRole, createRoleSchema } from '../../test/support/postgres-roles.ts';
import { runCliInProcess } from '../../test/support/run-cli-in-process.ts';
import { openAdapters } from '../open-adapters.ts';

const dir = mkdtempSync(join(tmpdir(), 'gh-migrate-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('gatehouse migrate', () => {
  it('says which migrations it ran on a new store, and "up to date" alone when there were none (operator finding)', async () => {
    const config = join(dir, 'gatehouse.yaml');
    writeFileSync(config, `dataDir: ${join(dir, 'data')}\ntenants: []\n`);
    const env = { GATEHOUSE_MASTER_KEY: Buffer.alloc(32, 7).toString('base64') };
    const options = { env, openAdapters };
    const first = await runCliInProcess(['migrate', '--config', config], options);
    expect(first.code).toBe(0);
    expect(first.stdout).toMatch(/^Applied \d+ migration\(s\): 0001_\w+, .*0036_\w+\. Migrations are up to date\.\n$/);
    const second = await runCliInProcess(['migrate', '--config', config], options);
    expect(second.code).toBe(0);
    expect(second.stdout).toBe('Migrations are up to date.\n');
  });

  const postgres = process.env['GATEHOUSE_TEST_POSTGRES'];
  it.skipIf(postgres === undefined)(
    'as the application role without migrationStore: says to set migrationStore (it said "internal: Store migration (setup) failed")',
    async () => {
      const roles = await createRoleSchema(postgres!);
      try {
        const config = join(dir, 'app-role.yaml');
        writeFileSync(config, `store: "${roles.appUrl}"\ndataDir: ${join(dir, 'app-data')}\ntenants: []\n`);
        const env = { GATEHOUSE_MASTER_KEY: Buffer.alloc(32, 7).toString('base64') };
        const run = await runCliInProcess(['migrate', '--config', config], { env, openAdapters });
        expect(run.code).toBe(2);
        expect(run.stderr).toContain(`config_invalid: ${applicationRole} may not create or change the store's tables`);
        expect(run.stderr).toContain('migrationStore (GATEHOUSE_MIGRATION_STORE)');
        expect(run.stderr).not.toContain('internal');
      } finally {
        await roles.drop();
      }
    },
  );
});
