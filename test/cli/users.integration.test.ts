import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openAdapters } from '../../src/open-adapters.ts';
import { runCliInProcess } from '../support/run-cli-in-process.ts';

/** `gatehouse users add|list|disable` over the store a config names (issue 16). */
let dir: string;
let configPath: string;
const env = { GATEHOUSE_MASTER_KEY: randomBytes(32).toString('base64') };
const cli = (argv: readonly string[]) => runCliInProcess(argv, { env, openAdapters });

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'gatehouse-users-cli-'));
  configPath = join(dir, 'gatehouse.yaml');
  writeFileSync(
    configPath,
    `dataDir: ${dir}\nstore: sqlite:${join(dir, 'g.db')}\npublicUrl: https://gw.example.com\nlogLevel: silent\ntenants:\n  - id: acme\n`,
  );
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('gatehouse users', () => {
  it('a tenant missing from the config read names that file, or that none was given, and says to pass --config', async () => {
    const withoutConfig = await runCliInProcess(['users', 'add', '--tenant', 'acme', '--name', 'bob'], {
      env: { ...env, GATEHOUSE_DATA_DIR: dir },
      openAdapters,
    });
    expect(withoutConfig.code).not.toBe(0);
    expect(withoutConfig.stderr).toContain('No tenant acme in the config or the store: no config file was given');
    expect(withoutConfig.stderr).toContain('pass --config FILE');
    const other = join(dir, 'other.yaml');
    writeFileSync(other, `dataDir: ${dir}\nstore: sqlite:${join(dir, 'other.db')}\nlogLevel: silent\n`);
    const wrongFile = await cli(['users', 'add', '--config', other, '--tenant', 'acme', '--name', 'bob']);
    expect(wrongFile.code).not.toBe(0);
    expect(wrongFile.stderr).toContain(`No tenant acme in the config or the store: read ${other}; pass --config`);
  });

  it('add prints an invite link once; list shows the user (no hash); disable ends them', async () => {
    const added = await cli([
      'users',
      'add',
      '--config',
      configPath,
      '--tenant',
      'acme',
      '--name',
      'alice',
      '--display-name',
      'Alice',
    ]);
    expect(added.code).toBe(0);
    expect(added.stdout.trim()).toMatch(/^https:\/\/gw\.example\.com\/invite\/[A-Za-z0-9_-]{43}$/);
    expect(added.stderr).toContain("Created user 'alice'");

    const listed = await cli(['users', 'list', '--config', configPath, '--tenant', 'acme', '--json']);
    expect(listed.code).toBe(0);
    const { users } = JSON.parse(listed.stdout) as {
      users: { name: string; status: string; invitePending: boolean }[];
    };
    expect(users).toEqual([expect.objectContaining({ name: 'alice', status: 'active', invitePending: true })]);
    expect(listed.stdout).not.toContain(added.stdout.trim().split('/invite/')[1]);

    const disabled = await cli(['users', 'disable', '--config', configPath, '--tenant', 'acme', '--name', 'alice']);
    expect(disabled.code).toBe(0);
    const table = await cli(['users', 'list', '--config', configPath, '--tenant', 'acme']);
    expect(table.stdout).toMatch(/alice\s+usr_\S+\s+disabled/);
  });

  it("subject_is_a_user_name: keys create --subject with a user's name (not their id) warns and names the id", async () => {
    const added = await cli(['users', 'add', '--config', configPath, '--tenant', 'acme', '--name', 'carol']);
    expect(added.code).toBe(0);
    const listed = await cli(['users', 'list', '--config', configPath, '--tenant', 'acme', '--json']);
    const carol = (JSON.parse(listed.stdout) as { users: { name: string; id: string }[] }).users.find(
      (u) => u.name === 'carol',
    );
    // The same store, with a toolset for the key.
    const withToolset = join(dir, 'with-toolset.yaml');
    writeFileSync(
      withToolset,
      `dataDir: ${dir}\nstore: sqlite:${join(dir, 'g.db')}\nlogLevel: silent\ntenants:\n  - id: acme\n    toolsets: [{ id: all, tools: ['*'] }]\n`,
    );
    const keysCreate = (subject: string) =>
      cli(['keys', 'create', '--config', withToolset, '--tenant', 'acme', '--toolset', 'all', '--subject', subject]);
    const byName = await keysCreate('carol');
    expect(byName.code).toBe(0);
    expect(byName.stderr).toContain(
      `warning: subject 'carol' is the name of user ${carol?.id}, not their id: this key's connect links open only for an owner or admin; for carol's own, use --subject ${carol?.id}`,
    );
    const byId = await keysCreate(carol!.id);
    expect(byId.code).toBe(0);
    expect(byId.stderr).not.toContain('warning');
  });

  it('bad input names what is wrong: unknown tenant, missing --name, duplicate name, unknown user', async () => {
    const unknownTenant = await cli(['users', 'list', '--config', configPath, '--tenant', 'globex']);
    expect(unknownTenant.code).not.toBe(0);
    expect(unknownTenant.stderr).toContain('globex');
    const noName = await cli(['users', 'add', '--config', configPath, '--tenant', 'acme']);
    expect(noName.code).not.toBe(0);
    expect(noName.stderr).toContain('--name');
    const duplicate = await cli(['users', 'add', '--config', configPath, '--tenant', 'acme', '--name', 'alice']);
    expect(duplicate.code).not.toBe(0);
    expect(duplicate.stderr).toContain('alice');
    const nobody = await cli(['users', 'disable', '--config', configPath, '--tenant', 'acme', '--name', 'nobody']);
    expect(nobody.code).not.toBe(0);
    expect(nobody.stderr).toContain('nobody');
  });
});
