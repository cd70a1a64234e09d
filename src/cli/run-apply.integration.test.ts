import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runCliInProcess } from '../../test/support/run-cli-in-process.ts';
import { hashClientKey } from '../gateway/index.ts';
import { openAdapters } from '../open-adapters.ts';
import { openStore } from '../store/index.ts';

const dir = mkdtempSync(join(tmpdir(), 'gh-apply-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const description = join(dir, 'pets.yaml');
writeFileSync(
  description,
  'openapi: 3.0.3\ninfo: { title: Pets, version: "1" }\nservers: [{ url: "https://pets.example" }]\npaths:\n  /pets:\n    get: { operationId: listPets, responses: { "200": { description: ok } } }\n',
);
const sharedKey = 'gatehouse_sk_apply-shared-key-0123456789abcdef';
const storedKey = 'gatehouse_sk_apply-stored-key-0123456789abcdef';
const env = {
  GATEHOUSE_MASTER_KEY: Buffer.alloc(32, 7).toString('base64'),
  PETS_TOKEN: 'pets-token-0123456789',
  SHARED_KEY: sharedKey,
  STORED_KEY: storedKey,
  FIXED_KEY: 'gatehouse_sk_apply-fixed-key-0123456789abcdef',
};
const run = (argv: string[]) =>
  runCliInProcess(argv, { env, openAdapters: (config, context) => openAdapters(config, context) });

function configFile(name: string, toolsets: string, extra = ''): string {
  const path = join(dir, name);
  writeFileSync(
    path,
    `store: sqlite:${join(dir, 'gatehouse.db')}
tenants:
  - id: acme
    services:
      - id: pets
        openapi: ./pets.yaml
        auth: { type: bearer, token: "\${env:PETS_TOKEN}" }
    toolsets:
${toolsets}${extra}`,
  );
  return path;
}

describe('gatehouse apply and export (issue 14)', () => {
  it('applies a file, prints what changed, exports YAML that apply accepts unchanged, and a broken file changes nothing (exit 2 with the field path)', async () => {
    const first = configFile('first.yaml', '      - id: support\n        tools: ["pets_*"]\n');
    const applied = await run(['apply', '--config', first]);
    expect(applied.stderr).toBe('');
    expect(applied.code).toBe(0);
    expect(applied.stdout).toMatch(/tenant acme \(revision 1\):\n {2}added +tenant acme/);

    const second = configFile(
      'second.yaml',
      '      - id: support\n        tools: ["pets_*"]\n        results: { budget: 900 }\n      - id: writers\n        access: write\n',
    );
    // A dry run prints the same changes and writes nothing (the next apply still has them to make).
    const planned = await run(['apply', '--config', second, '--dry-run']);
    expect(planned.code).toBe(0);
    expect(planned.stdout).toContain('Dry run: nothing was written');
    expect(planned.stdout).toContain('tenant acme (at revision 1):');
    expect(planned.stdout).toMatch(/changed +toolset support/);
    expect(planned.stdout).toMatch(/added +toolset writers/);
    const changed = await run(['apply', '--config', second]);
    expect(changed.code).toBe(0);
    expect(changed.stdout).toContain('tenant acme (revision 2):');
    expect(changed.stdout).toMatch(/changed +toolset support/);
    expect(changed.stdout).toMatch(/added +toolset writers/);
    expect((await run(['apply', '--config', second])).stdout).toContain('No change');

    const exported = await run(['export', '--config', second]);
    expect(exported.code).toBe(0);
    expect(exported.stdout).toContain('${env:PETS_TOKEN}');
    expect(exported.stdout).not.toContain('pets-token-0123456789');
    const roundTrip = join(dir, 'exported.yaml');
    writeFileSync(roundTrip, `store: sqlite:${join(dir, 'gatehouse.db')}\n${exported.stdout}`);
    expect((await run(['apply', '--config', roundTrip])).stdout).toContain('No change');

    const broken = configFile('broken.yaml', '      - id: support\n        access: admin\n');
    const refused = await run(['apply', '--config', broken]);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain('tenants[0].toolsets[0].access');
    const oldKey = configFile('old-key.yaml', '      - id: support\n        resultBudget: 900\n');
    const moved = await run(['apply', '--config', oldKey]);
    expect(moved.code).toBe(2);
    expect(moved.stderr).toContain("'resultBudget' moved to results.budget");
    const literal = configFile(
      'literal.yaml',
      '      - id: support\n',
      '    approverToken: a-literal-approver-token-0123456789\n',
    );
    const secret = await run(['apply', '--config', literal]);
    expect(secret.code).toBe(2);
    expect(secret.stderr).toContain('tenants[0].approverToken');
    expect(secret.stderr).not.toContain('a-literal-approver-token');

    const store = await openStore(`sqlite:${join(dir, 'gatehouse.db')}`);
    try {
      const stored = await store.tenantConfigs.read('acme');
      expect(stored?.revision).toBe(2);
      expect(((stored?.document ?? {}) as unknown as { toolsets: { id: string }[] }).toolsets.map((t) => t.id)).toEqual(
        ['support', 'writers'],
      );
      const history = await store.tenantConfigs.history('acme');
      expect(history.map((h) => h.actor)).toEqual(['apply', 'apply']);
      const records = await store.audit.query({ tenantId: 'acme', kind: 'security' });
      const changes = records.filter((r) => r.event === 'config_changed').map((r) => `${r.detail} ${r.target}`);
      expect(changes).toEqual(['added tenant:acme', 'changed toolset:support', 'added toolset:writers']);
    } finally {
      await store.close();
    }
  });

  // Finding (issue 14): apply refused a duplicate key only when it came to write the tenant holding it, so the
  // file's earlier tenants were already stored; the whole file is now checked before anything is written.
  describe('a client key value the file repeats, or that a stored key holds, writes no tenant of the file', () => {
    const store = () => openStore(`sqlite:${join(dir, 'duplicates.db')}`);
    const tenant = (id: string, keyVariable: string) => `  - id: ${id}
    services:
      - id: pets
        openapi: ./pets.yaml
    toolsets:
      - id: support
    clientKeys:
      - { name: ci, key: "\${env:${keyVariable}}", toolsets: [support] }
`;
    const file = (name: string, tenants: string) => {
      const path = join(dir, name);
      writeFileSync(path, `store: sqlite:${join(dir, 'duplicates.db')}\ntenants:\n${tenants}`);
      return path;
    };
    const storedTenants = async () => {
      const opened = await store();
      try {
        return (await opened.tenantConfigs.list()).map((t) => t.tenantId);
      } finally {
        await opened.close();
      }
    };

    it('two tenants of the file with the same key value', async () => {
      const path = file('same-key.yaml', `${tenant('alpha', 'SHARED_KEY')}${tenant('beta', 'SHARED_KEY')}`);
      const refused = await run(['apply', '--config', path]);
      expect(refused.code).toBe(2);
      expect(refused.stderr).toContain("tenants[1].clientKeys[0] ('ci') has the same key as tenants[0].clientKeys[0]");
      expect(refused.stderr).not.toContain(sharedKey);
      expect(await storedTenants()).toEqual([]);
    });

    it('a later tenant of the file with the value of a key another tenant has stored', async () => {
      const opened = await store();
      try {
        await opened.clientKeys.upsert({
          tenantId: 'other',
          id: 'config-agent',
          name: 'agent',
          hash: hashClientKey(storedKey),
          prefix: 'gatehouse_sk_stor',
          toolsets: ['support'],
          subject: 'shared',
          createdAt: Date.now(),
          revokedAt: null,
        });
      } finally {
        await opened.close();
      }
      const path = file('stored-key.yaml', `${tenant('alpha', 'SHARED_KEY')}${tenant('beta', 'STORED_KEY')}`);
      const refused = await run(['apply', '--config', path]);
      expect(refused.code).toBe(2);
      expect(refused.stderr).toContain("tenants[1].clientKeys[0] ('ci') has the same key as the stored key 'agent'");
      expect(refused.stderr).not.toContain(storedKey);
      expect(await storedTenants()).toEqual([]);

      // Once the file is corrected, both tenants are written.
      const fixed = file('fixed.yaml', `${tenant('alpha', 'SHARED_KEY')}${tenant('beta', 'FIXED_KEY')}`);
      const applied = await run(['apply', '--config', fixed]);
      expect(applied.stderr).toBe('');
      expect((await storedTenants()).sort()).toEqual(['alpha', 'beta']);
    });
  });

  it('export_creates_store: export of a config whose store does not exist creates nothing and says where it looked', async () => {
    const missing = join(dir, 'elsewhere', 'none.db');
    const path = join(dir, 'missing-store.yaml');
    writeFileSync(path, `store: sqlite:${missing}\ntenants: []\n`);
    const exported = await run(['export', '--config', path]);
    expect(exported.code).toBe(2);
    expect(exported.stderr).toContain(missing);
    expect(exported.stdout).not.toContain('tenants:');
    expect(existsSync(missing)).toBe(false);
  });

  it('apply --dry-run of a file that lacks a stored tenant says it would remove it, and removes nothing', async () => {
    const db = join(dir, 'dry-run.db');
    const full = join(dir, 'dry-full.yaml');
    writeFileSync(full, `store: sqlite:${db}\ntenants:\n  - id: keepme\n    services: []\n    toolsets: []\n`);
    expect((await run(['apply', '--config', full])).code).toBe(0);
    const empty = join(dir, 'dry-empty.yaml');
    writeFileSync(empty, `store: sqlite:${db}\ntenants: []\n`);
    const planned = await run(['apply', '--config', empty, '--dry-run']);
    expect(planned.code).toBe(0);
    expect(planned.stdout).toMatch(/tenant keepme:\n {2}removed +tenant keepme/);
    const exported = await run(['export', '--config', empty]);
    expect(exported.stdout).toContain('id: keepme');
  });
});
