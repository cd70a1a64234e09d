import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
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
    expect(first.stdout).toMatch(/^Applied \d+ migration\(s\): 0001_\w+, .*0035_\w+\. Migrations are up to date\.\n$/);
    const second = await runCliInProcess(['migrate', '--config', config], options);
    expect(second.code).toBe(0);
    expect(second.stdout).toBe('Migrations are up to date.\n');
  });
});
