import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { forgeAuditChain } from '../../test/support/forge-audit-chain.ts';
import { captureText as capture, runCliInProcess } from '../../test/support/run-cli-in-process.ts';
import { testDatabases } from '../../test/support/test-databases.ts';
import { createAuditLog } from '../audit/index.ts';
import { systemClock } from '../core/index.ts';
import { openStore } from '../store/index.ts';
import { createVault, loadMasterKeys } from '../vault/index.ts';
import { runCli } from './run-cli.ts';

const tempDir = mkdtempSync(join(tmpdir(), 'gh-audit-cli-'));
afterAll(() => rmSync(tempDir, { recursive: true, force: true }));

async function verify(configFile: string, tenant: string, ...options: string[]) {
  return runCliInProcess(['audit', 'verify', '--config', configFile, '--tenant', tenant, ...options]);
}

const targets = testDatabases(tempDir);

for (const target of targets) {
  describe.skipIf(!target.enabled)(`gatehouse audit verify on ${target.name}`, () => {
    it('AU-04 exits 0 on an intact chain and 1 with the first bad seq after an edit or a deletion', async () => {
      const db = await target.create();
      try {
        const configFile = join(tempDir, `${target.name}.yaml`);
        writeFileSync(configFile, `dataDir: ${tempDir}\nstore: "${db.url}"\n`);
        const store = await openStore(db.url);
        await store.migrate();
        const audit = await createAuditLog({ repository: store.audit, clock: systemClock, tenants: ['acme'] });
        await Promise.all(
          Array.from({ length: 6 }, (_, i) =>
            audit.recordSecurityEvent({ tenant: 'acme', event: 'connect', decision: 'allow', target: `service:s${i}` }),
          ),
        );
        await audit.close();
        await store.close();

        const intact = await verify(configFile, 'acme');
        expect(intact.code).toBe(0);
        expect(intact.stdout).toContain('intact: 6 records');

        await db.raw(
          target.name === 'postgres'
            ? 'alter table audit_records disable trigger user'
            : 'drop trigger audit_records_no_update; drop trigger audit_records_no_delete',
        );
        await db.raw(`update audit_records set target = 'service:other' where seq = 4`);
        const edited = await verify(configFile, 'acme');
        expect(edited.code).toBe(1);
        expect(edited.stdout).toContain('broken at seq 4 (hash_mismatch)');

        await db.raw('delete from audit_records where seq in (2, 4)');
        const deleted = await verify(configFile, 'acme');
        expect(deleted.code).toBe(1);
        expect(deleted.stdout).toContain('broken at seq 2 (missing_record)');

        const usage = await runCli(['audit', 'verify', '--config', configFile], {
          env: {},
          stdout: capture().stream,
          stderr: capture().stream,
          openAdapters: () => Promise.reject(new Error('unused')),
          stopSignal: new Promise(() => undefined),
        });
        expect(usage).toBe(2);
      } finally {
        await db.drop();
      }
    });

    it('AU-04 (mutation check, issue 17) an edited record whose hash was recomputed breaks the next link', async () => {
      const db = await target.create();
      try {
        const configFile = join(tempDir, `${target.name}-link.yaml`);
        writeFileSync(configFile, `dataDir: ${tempDir}\nstore: "${db.url}"\n`);
        const store = await openStore(db.url);
        await store.migrate();
        const audit = await createAuditLog({ repository: store.audit, clock: systemClock, tenants: ['acme'] });
        for (let i = 0; i < 6; i += 1) {
          await audit.recordSecurityEvent({
            tenant: 'acme',
            event: 'connect',
            decision: 'allow',
            target: `service:s${i}`,
          });
        }
        await audit.close();
        await store.close();

        await forgeAuditChain(db, 'acme', { seq: 4, target: 'service:other', recompute: 'record' });
        const forged = await verify(configFile, 'acme');
        expect(forged.code).toBe(1);
        expect(forged.stdout).toContain('broken at seq 5 (broken_link)');
      } finally {
        await db.drop();
      }
    });

    it('AU-04 (issue 17) a database writer who edits a record and recomputes every later hash and the head, without the master key, is caught by the signed checkpoints', async () => {
      const db = await target.create();
      try {
        const masterKey = randomBytes(32).toString('base64');
        const dataDir = mkdtempSync(join(tempDir, 'anchor-'));
        const configFile = join(tempDir, `${target.name}-anchor.yaml`);
        const keyless = join(tempDir, `${target.name}-anchor-keyless.yaml`);
        writeFileSync(configFile, `dataDir: ${dataDir}\nstore: "${db.url}"\nmasterKey: "${masterKey}"\n`);
        writeFileSync(keyless, `dataDir: ${dataDir}\nstore: "${db.url}"\n`);
        const wrongKey = join(tempDir, `${target.name}-anchor-wrong-key.yaml`);
        writeFileSync(
          wrongKey,
          `dataDir: ${dataDir}\nstore: "${db.url}"\nmasterKey: "${randomBytes(32).toString('base64')}"\n`,
        );
        const store = await openStore(db.url);
        await store.migrate();
        const vault = createVault({
          dataKeys: store.dataKeys,
          masterKeys: loadMasterKeys({ mode: 'development', masterKey, dataDir, warn: () => undefined }),
          clock: systemClock,
        });
        const audit = await createAuditLog({
          repository: store.audit,
          clock: systemClock,
          keys: vault,
          tenants: ['acme'],
          checkpointEvery: 4,
        });
        for (let i = 0; i < 10; i += 1) {
          await audit.recordSecurityEvent({
            tenant: 'acme',
            event: 'connect',
            decision: 'allow',
            target: `service:s${i}`,
          });
        }
        await audit.close();
        // Checkpoints after seq 4 and 8 (every 4 records) and at close (seq 10).
        expect((await store.audit.listCheckpoints('acme', 0)).map((c) => c.seq)).toEqual([4, 8, 10]);
        await store.close();

        const intact = await verify(configFile, 'acme', '--json');
        expect(intact.code).toBe(0);
        const report = JSON.parse(intact.stdout) as Record<string, unknown>;
        expect(report).toMatchObject({ ok: true, checked: 10, checkpoints: 3, checkpointSeq: 10 });
        expect(report['checkpointsAuthenticated']).toBe(true);
        // The operator keeps the last checkpoint outside the database.
        const kept = `${report['checkpointSeq']}:${report['checkpointHash']}`;
        expect((await verify(configFile, 'acme', '--checkpoint', kept)).code).toBe(0);
        // Without the master key the checkpoints cannot be authenticated: not reported as intact.
        const noKey = await verify(keyless, 'acme', '--json');
        expect(noKey.code).toBe(1);
        expect(JSON.parse(noKey.stdout)).toMatchObject({ problem: 'checkpoint_key_unavailable', firstBadSeq: null });
        // (issue 10 first-hour trial) no key and a wrong key are told apart, each with what to do.
        expect((await verify(keyless, 'acme')).stdout).toContain('none is configured');
        const wrong = await verify(wrongKey, 'acme');
        expect(wrong.code).toBe(1);
        expect(wrong.stdout).toContain('does not unseal');

        // The forger rewrites seq 6 and recomputes every later hash and the head: the chain alone is consistent.
        await forgeAuditChain(db, 'acme', { seq: 6, target: 'service:other', recompute: 'chain' });
        const rewritten = await verify(configFile, 'acme', '--json');
        expect(rewritten.code).toBe(1);
        expect(JSON.parse(rewritten.stdout)).toMatchObject({
          firstBadSeq: 8,
          problem: 'checkpoint_mismatch',
          checked: 7,
        });

        // ... and also rewrites the checkpoints, with a MAC under a key of its own: forged.
        await forgeAuditChain(db, 'acme', {
          seq: 6,
          target: 'service:other2',
          recompute: 'chain',
          checkpoints: 'rewrite',
        });
        const forged = await verify(configFile, 'acme');
        expect(forged.code).toBe(1);
        expect(forged.stdout).toContain('broken at seq 8 (checkpoint_forged)');

        // ... or deletes every checkpoint: what the database holds is then consistent (the documented limit, and
        // what audit verify answered before checkpoints existed); the checkpoint kept outside still catches it.
        await forgeAuditChain(db, 'acme', {
          seq: 6,
          target: 'service:other3',
          recompute: 'chain',
          checkpoints: 'delete',
        });
        const unanchored = await verify(configFile, 'acme', '--json');
        expect(unanchored.code).toBe(0);
        expect(JSON.parse(unanchored.stdout)).toMatchObject({ ok: true, checkpoints: 0, checkpointSeq: null });
        const outside = await verify(configFile, 'acme', '--checkpoint', kept, '--json');
        expect(outside.code).toBe(1);
        expect(JSON.parse(outside.stdout)).toMatchObject({ firstBadSeq: 10, problem: 'checkpoint_mismatch' });
        expect((await verify(configFile, 'acme', '--checkpoint', 'nonsense')).code).toBe(2);
      } finally {
        await db.drop();
      }
    });
  });
}

describe('gatehouse audit verify of a tenant the store does not hold', () => {
  it('audit_verify_unknown_tenant_store_unnamed: the refusal names the store it read, so a missing --config is plain', async () => {
    const folder = mkdtempSync(join(tempDir, 'unknown-'));
    const configFile = join(folder, 'gatehouse.yaml');
    writeFileSync(configFile, 'tenants:\n  - id: acme\n');
    const run = await verify(configFile, 'lab');
    expect(run.code).toBe(2);
    // Before: "Unknown tenant 'lab'; known tenants: acme", silent about which database it had read.
    expect(run.stderr).toContain(`sqlite:${join(folder, '.gatehouse', 'gatehouse.db')}`);
  });
});
