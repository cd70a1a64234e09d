import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { applicationRole, asRole, createRoleSchema, ownerRole } from '../../test/support/postgres-roles.ts';
import { runCliInProcess } from '../../test/support/run-cli-in-process.ts';
import { testDatabases } from '../../test/support/test-databases.ts';
import { systemClock } from '../core/index.ts';
import { migrateWithOwner, openStore, withStoreSchema } from '../store/index.ts';
import { createLocalMasterKeyProvider, createVault, loadMasterKeys, parseMasterKeys } from '../vault/index.ts';
import type { DoctorFinding } from './run-doctor.ts';

const tempDir = mkdtempSync(join(tmpdir(), 'gh-doctor-'));
afterAll(() => rmSync(tempDir, { recursive: true, force: true }));

const keyA = Buffer.alloc(32, 1).toString('base64');
const keyB = Buffer.alloc(32, 2).toString('base64');
const redisUrl = process.env['GATEHOUSE_TEST_REDIS'];

async function doctor(config: string, env: NodeJS.ProcessEnv = {}) {
  const file = join(tempDir, `doctor-${Math.random().toString(36).slice(2)}.yaml`);
  writeFileSync(file, config);
  const run = await runCliInProcess(['doctor', '--config', file, '--json'], { env });
  const report = JSON.parse(run.stdout) as { ok: boolean; findings: DoctorFinding[] };
  const of = (check: DoctorFinding['check']) => report.findings.find((f) => f.check === check);
  return { code: run.code, report, of };
}

/** A migrated store with one tenant whose data key is wrapped by `masterKey`. */
async function storeWithDataKey(url: string, masterKey: string): Promise<void> {
  const store = await openStore(url);
  try {
    await store.migrate();
    await store.tenants.ensure('acme', Date.now());
    const masterKeys = createLocalMasterKeyProvider(() => parseMasterKeys(masterKey, 'test'), 'test');
    const vault = createVault({ dataKeys: store.dataKeys, masterKeys, clock: systemClock });
    await vault.encrypt({ tenantId: 'acme', owner: 'service:notes', field: 'credential' }, 'a secret');
  } finally {
    await store.close();
  }
}

describe('gatehouse doctor', () => {
  it('reads only: a fresh folder gets findings and exit 0, and no database file is created', async () => {
    const dataDir = join(tempDir, 'fresh');
    const { code, of } = await doctor(`dataDir: ${dataDir}\n`);
    expect(code).toBe(0);
    expect(of('store')?.status).toBe('ok');
    expect(of('master key')?.status).toBe('warn');
    expect(existsSync(join(dataDir, 'gatehouse.db'))).toBe(false);
    expect(existsSync(join(dataDir, 'master.key'))).toBe(false);
  });

  it('doctor_config_ok_hides_check_warnings: what check warns about (a private upstream every call is refused) is a warning here too', async () => {
    const dataDir = join(tempDir, 'check-warnings');
    const description = fileURLToPath(new URL('../../bench/fixtures/upstream.openapi.yaml', import.meta.url));
    const { code, report } = await doctor(
      [
        `dataDir: ${dataDir}`,
        'tenants:',
        '  - id: acme',
        '    services:',
        '      - id: widgets',
        `        openapi: ${description}`,
        '        baseUrl: http://localhost:18790/v1',
        '',
      ].join('\n'),
    );
    // Before: only { config: ok "valid; 1 tenant(s)" }, and "No check failed".
    const config = report.findings.filter((f) => f.check === 'config');
    expect(config.map((f) => f.status)).toEqual(['ok', 'warn']);
    expect(config[1]?.message).toContain(
      '1 warning(s): tenants[0].services[0].baseUrl: localhost is a loopback or private address',
    );
    expect(config[1]?.fix).toContain('gatehouse check');
    expect(code).toBe(0);
  });

  it('doctor_master_key_message_repeats: the development key in use is said once, its fix once', async () => {
    const dataDir = join(tempDir, 'development-key');
    mkdirSync(dataDir, { recursive: true });
    // The key file serve generates on its first start in development mode.
    loadMasterKeys({ mode: 'development', dataDir, warn: () => {} });
    const store = await openStore(`sqlite:${join(dataDir, 'gatehouse.db')}`);
    await store.migrate();
    await store.close();
    const { of } = await doctor(`dataDir: ${dataDir}\nstore: "sqlite:${join(dataDir, 'gatehouse.db')}"\n`);
    const finding = of('master key');
    expect(finding?.status).toBe('warn');
    // Before: "...; unwraps all 0 data keys; Using the development master key ...; production needs ...".
    expect(finding?.message).toBe(`the development key ${join(dataDir, 'master.key')}; unwraps all 0 data keys`);
    expect(finding?.fix).toBe('set GATEHOUSE_MASTER_KEY or GATEHOUSE_MASTER_KEY_FILE before production');
  });

  it('admin_token_short_not_flagged: warns about an admin token shorter than 32 characters, without showing it; a long one is ok', async () => {
    const dataDir = join(tempDir, 'admin-token');
    const short = await doctor(`dataDir: ${dataDir}\nadminToken: hunter2-admin\n`);
    // Before: { status: 'ok', message: 'admin API on' }.
    expect(short.of('admin')?.status).toBe('warn');
    expect(short.of('admin')?.message).toContain('13 characters');
    expect(short.of('admin')?.fix).toContain('32');
    expect(JSON.stringify(short.report)).not.toContain('hunter2');
    const long = await doctor(`dataDir: ${dataDir}\nadminToken: ${'x'.repeat(20)}-0123456789-abcdef\n`);
    expect(long.of('admin')).toMatchObject({ status: 'ok', message: 'admin API on' });
  });

  it('fails the master key when the store was written with another key (the first-hour trap), passes with its own', async () => {
    const db = await testDatabases(tempDir)[0]!.create();
    await storeWithDataKey(db.url, keyA);
    const config = `store: "${db.url}"\ndataDir: ${join(tempDir, 'keys')}\n`;
    const wrong = await doctor(config, { GATEHOUSE_MASTER_KEY: keyB });
    expect(wrong.code).toBe(1);
    expect(wrong.of('master key')).toMatchObject({ status: 'fail' });
    expect(wrong.of('master key')?.message).toContain('1 of 1 data keys do not unwrap');
    // Which version the store needs: after a rotation, the host left without the new version is told which to add.
    expect(wrong.of('master key')?.message).toContain('wrapped with master key version 1');
    expect(JSON.stringify(wrong.report)).not.toContain(keyB);
    const right = await doctor(config, { GATEHOUSE_MASTER_KEY: keyA });
    expect(right.of('master key')).toMatchObject({ status: 'ok' });
    expect(right.of('migrations')).toMatchObject({ status: 'ok', message: 'none pending' });
    expect(right.code).toBe(0);
  });

  it('development mode without a key, on a store that holds data keys: fails (serve would make a new key and stop)', async () => {
    // Operator's finding: doctor said "none yet: serve will generate a development key" (warn, exit 0), and serve
    // then generated one and stopped with decrypt_failed on the stored data keys.
    const db = await testDatabases(tempDir)[0]!.create();
    await storeWithDataKey(db.url, keyA);
    const dataDir = join(tempDir, 'nokey');
    const config = `store: "${db.url}"\ndataDir: ${dataDir}\n`;
    const none = await doctor(config);
    expect(none.code).toBe(1);
    expect(none.of('master key')).toMatchObject({ status: 'fail' });
    expect(none.of('master key')?.message).toContain('1 data key');
    expect(none.of('master key')?.fix).toContain('GATEHOUSE_MASTER_KEY');
    expect(existsSync(join(dataDir, 'master.key'))).toBe(false);
    // A development key that is not the store's: named once, in plain words.
    mkdirSync(dataDir, { recursive: true });
    writeFileSync(join(dataDir, 'master.key'), `1:${keyB}\n`, { mode: 0o600 });
    const wrong = await doctor(config);
    expect(wrong.of('master key')).toMatchObject({ status: 'fail' });
    expect(wrong.of('master key')?.message).toBe(
      `1 of 1 data keys do not unwrap with the development key ${join(dataDir, 'master.key')} (tenants acme; wrapped with master key version 1)`,
    );
  });

  for (const kind of testDatabases(tempDir)) {
    it.skipIf(!kind.enabled)(
      `${kind.name}: an empty database is "run migrate" under migrations, not a master key failure (operator's finding)`,
      async () => {
        const db = await kind.create();
        const config = `store: "${db.url}"\ndataDir: ${join(tempDir, `empty-${kind.name}`)}\n`;
        const { of } = await doctor(config, { GATEHOUSE_MASTER_KEY: keyA });
        expect(of('master key')?.status).not.toBe('fail');
        expect(of('master key')?.message).toContain('not checked against the store');
        expect(of('migrations')?.status).not.toBe('ok');
      },
    );
  }

  it('expands a catalogue provider service like check and serve do (it used to refuse every such config)', async () => {
    const dataDir = join(tempDir, 'provider');
    const { code, of } = await doctor(
      `dataDir: ${dataDir}\ntenants:\n  - id: acme\n    services:\n      - { provider: slack, clientId: c, clientSecret: "\${env:SLACK_SECRET}" }\n`,
      { SLACK_SECRET: 'a-slack-client-secret' },
    );
    expect(of('config')).toMatchObject({ status: 'ok', message: 'valid; 1 tenant(s), mode development' });
    expect(code).toBe(0);
  });

  it('production: no master key, the development key file, or plain HTTP beyond loopback fail', async () => {
    const dataDir = join(tempDir, 'prod');
    const bare = await doctor(`mode: production\ndataDir: ${dataDir}\npublicUrl: http://10.1.2.3:8787\n`);
    expect(bare.code).toBe(1);
    expect(bare.of('master key')?.status).toBe('fail');
    expect(bare.of('public URL')?.status).toBe('fail');
    const https = await doctor(
      `mode: production\ndataDir: ${dataDir}\npublicUrl: https://gatehouse.example.com\nmasterKeyFile: ${join(dataDir, 'master.key')}\n`,
    );
    expect(https.of('public URL')?.status).toBe('ok');
    expect(https.of('master key')).toMatchObject({ status: 'fail' });
    expect(https.of('master key')?.message).toContain('development key');
  });

  it('an unreachable store and an unreachable Redis fail with what to do', async () => {
    const { code, of } = await doctor(
      `store: "postgres://nobody@127.0.0.1:1/none"\nredis: "redis://127.0.0.1:1"\ndataDir: ${join(tempDir, 'down')}\n`,
    );
    expect(code).toBe(1);
    expect(of('store')).toMatchObject({ status: 'fail' });
    expect(of('redis')).toMatchObject({ status: 'fail' });
    expect(of('store')?.fix).toContain('GATEHOUSE_STORE');
  });

  const postgres = testDatabases(tempDir).find((kind) => kind.name === 'postgres');
  it.skipIf(!postgres?.enabled || redisUrl === undefined)(
    'PostgreSQL + Redis: versions, pending migrations and the clock skew against the database',
    async () => {
      const db = await postgres!.create();
      try {
        const { of } = await doctor(`store: "${db.url}"\nredis: "${redisUrl}"\ndataDir: ${join(tempDir, 'pg')}\n`);
        expect(of('store')?.message).toMatch(/^PostgreSQL \d+/);
        expect(of('migrations')?.status).toBe('warn');
        // Without migrationStore the fix says how a non-owner application role gets them run (operator's finding).
        expect(of('migrations')?.fix).toContain('migrationStore (GATEHOUSE_MIGRATION_STORE)');
        expect(of('clock')).toMatchObject({ status: 'ok' });
        expect(of('clock')?.message).toMatch(/differ by \d+ ms/);
        expect(of('redis')?.message).toMatch(/^Redis \d+\./);
      } finally {
        await db.drop();
      }
    },
  );

  it.skipIf(!postgres?.enabled)(
    'PostgreSQL with migrationStore: the owner role is checked too, and one that cannot log in fails (serve would stop)',
    async () => {
      // Operator's finding: a migrationStore naming a role that does not exist passed doctor ("No check failed"),
      // and serve then stopped at start with store_unavailable (28000) when it migrated.
      const adminUrl = process.env['GATEHOUSE_TEST_POSTGRES']!;
      const roles = await createRoleSchema(adminUrl);
      try {
        const config = (migrationStore: string) =>
          `store: "${roles.appUrl}"\nmigrationStore: "${migrationStore}"\ndataDir: ${join(tempDir, 'owner')}\n`;
        // Before the first migrate (docs/operations.md: doctor, migrate, doctor again): nothing to warn about.
        const fresh = await doctor(config(roles.ownerUrl), { GATEHOUSE_MASTER_KEY: keyA });
        expect(fresh.of('owner role')).toMatchObject({
          status: 'ok',
          message: `${ownerRole}, no tables yet: the first migrate creates them`,
        });
        const app = await openStore(roles.appUrl);
        await migrateWithOwner(app, roles.appUrl, roles.ownerUrl).finally(() => app.close());
        const good = await doctor(config(roles.ownerUrl), { GATEHOUSE_MASTER_KEY: keyA });
        expect(good.of('store role')).toMatchObject({ status: 'ok' });
        expect(good.of('store role')?.message).toContain(applicationRole);
        expect(good.of('owner role')).toMatchObject({ status: 'ok', message: `${ownerRole}, owns the tables` });
        expect(good.code).toBe(0);
        const missing = await doctor(
          config(withStoreSchema(asRole(adminUrl, 'gh_doctor_no_such_role'), roles.schema)),
          {
            GATEHOUSE_MASTER_KEY: keyA,
          },
        );
        expect(missing.code).toBe(1);
        expect(missing.of('owner role')).toMatchObject({ status: 'fail' });
        // The server's refusal, in its words (the role, never a password): not "Cannot reach" a server that answered.
        expect(missing.of('owner role')?.message).toContain(
          'refused the connection: role "gh_doctor_no_such_role" does not exist (28000)',
        );
        expect(missing.of('owner role')?.fix).toContain('GATEHOUSE_MIGRATION_STORE');
        const itself = await doctor(config(roles.appUrl), { GATEHOUSE_MASTER_KEY: keyA });
        expect(itself.of('owner role')).toMatchObject({ status: 'fail' });
      } finally {
        await roles.drop();
      }
    },
  );
});
