// Issue 17 review finding (audit anchor move): a database writer, WITHOUT the master key and WITHOUT disabling any
// trigger, moved `audit_heads.anchor_seq` forward (the triggers allow forward moves: retention needs them), which
// made every record and checkpoint at or below it deletable and unchecked, then deleted and re-inserted records with
// edited content; `audit verify` (with the master key, with `--checkpoint`) still said intact. The anchor is now
// signed by the gateway when retention moves it, and verify refuses an anchor without a valid MAC.
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runCliInProcess } from '../../test/support/run-cli-in-process.ts';
import { testDatabases } from '../../test/support/test-databases.ts';
import { createAuditLog } from '../audit/index.ts';
import type { Clock } from '../core/index.ts';
import { openStore } from '../store/index.ts';
import { createVault, loadMasterKeys } from '../vault/index.ts';

const tempDir = mkdtempSync(join(tmpdir(), 'gh-anchor-'));
afterAll(() => rmSync(tempDir, { recursive: true, force: true }));

async function verify(configFile: string, tenant: string, ...options: string[]) {
  return runCliInProcess(['audit', 'verify', '--config', configFile, '--tenant', tenant, ...options]);
}

interface Report {
  ok: boolean;
  problem: string | null;
  firstBadSeq: number | null;
  anchorSeq: number;
  checkpointSeq: number | null;
  checkpointHash: string | null;
}
const parse = (stdout: string) => JSON.parse(stdout) as Report;

for (const target of testDatabases(tempDir)) {
  describe.skipIf(!target.enabled)(`audit anchor forgery on ${target.name}`, () => {
    /** A tenant log of 10 records with checkpoints every 4, written by a gateway holding the master key. */
    async function setUp(clock: Clock = { now: () => Date.now(), monotonic: () => performance.now() }) {
      const db = await target.create();
      const masterKey = randomBytes(32).toString('base64');
      const dataDir = mkdtempSync(join(tempDir, 'd-'));
      const configFile = join(tempDir, `${target.name}-${randomBytes(4).toString('hex')}.yaml`);
      writeFileSync(configFile, `dataDir: ${dataDir}\nstore: "${db.url}"\nmasterKey: "${masterKey}"\n`);
      const store = await openStore(db.url);
      await store.migrate();
      const vault = createVault({
        dataKeys: store.dataKeys,
        masterKeys: loadMasterKeys({ mode: 'development', masterKey, dataDir, warn: () => undefined }),
        clock,
      });
      const openLog = (retentionDays?: number) =>
        createAuditLog({
          repository: store.audit,
          clock,
          keys: vault,
          tenants: ['acme'],
          checkpointEvery: 4,
          ...(retentionDays === undefined ? {} : { retentionDays }),
        });
      return { db, store, configFile, openLog };
    }

    it('AU-04 (issue 17 review: audit anchor move) an anchor moved by plain SQL is anchor_forged; an outside checkpoint below it is not ignored; an erased log fails', async () => {
      const { db, store, configFile, openLog } = await setUp();
      try {
        const audit = await openLog();
        for (let i = 0; i < 10; i += 1) {
          await audit.recordSecurityEvent({
            tenant: 'acme',
            event: 'connect',
            decision: 'allow',
            target: `service:s${i}`,
          });
        }
        await audit.close();

        const intact = await verify(configFile, 'acme', '--json');
        expect(intact.code).toBe(0);
        const report = parse(intact.stdout);
        expect(report.checkpointSeq).toBe(10);
        const cp4 = (await store.audit.listCheckpoints('acme', 0)).find((c) => c.seq === 4);
        expect(cp4).toBeDefined();
        const keptOutside = `4:${cp4?.hash}`;
        expect((await verify(configFile, 'acme', '--checkpoint', keptOutside)).code).toBe(0);

        // The forger: plain SQL, triggers left in place, no key.
        const t = "'acme'";
        await db.raw(
          [
            `create temp table forged as select * from audit_records where tenant_id = ${t} and seq <= 8`,
            `update forged set target = 'service:FORGED' where seq = 3`,
            `update audit_heads set anchor_seq = 8, anchor_hash = (select hash from audit_records where tenant_id = ${t} and seq = 8) where tenant_id = ${t}`,
            `delete from audit_checkpoints where tenant_id = ${t} and seq <= 8`,
            `delete from audit_records where tenant_id = ${t} and seq <= 8`,
            `insert into audit_records select * from forged`,
          ].join(';\n'),
        );
        const rec3 = (await store.audit.query({ tenantId: 'acme', afterSeq: 2, limit: 1 }))[0];
        expect(rec3?.target).toBe('service:FORGED');

        const forged = await verify(configFile, 'acme', '--json');
        expect(forged.code).toBe(1);
        expect(parse(forged.stdout)).toMatchObject({ ok: false, problem: 'anchor_forged', firstBadSeq: 8 });
        const forgedOutside = await verify(configFile, 'acme', '--checkpoint', keptOutside, '--json');
        expect(forgedOutside.code).toBe(1);
        expect(parse(forgedOutside.stdout)).toMatchObject({ ok: false, problem: 'anchor_forged' });
        // The plain-text report names the anchor.
        expect((await verify(configFile, 'acme')).stdout).toMatch(/anchor/);

        // The same move erases the whole log: anchor to the head, then delete every record and checkpoint.
        const last = `${report.checkpointSeq}:${report.checkpointHash}`;
        await db.raw(
          [
            `update audit_heads set anchor_seq = seq, anchor_hash = hash where tenant_id = ${t}`,
            `delete from audit_checkpoints where tenant_id = ${t}`,
            `delete from audit_records where tenant_id = ${t}`,
          ].join(';\n'),
        );
        const erased = await verify(configFile, 'acme', '--checkpoint', last, '--json');
        expect(erased.code).toBe(1);
        expect(parse(erased.stdout)).toMatchObject({ ok: false, problem: 'anchor_forged', anchorSeq: 10 });
        expect((await verify(configFile, 'acme', '--json')).code).toBe(1);
      } finally {
        await store.close();
        await db.drop();
      }
    });

    it('AU-04 (issue 17 review: audit anchor move) a retention prune signs its anchor; a checkpoint below it is reported pruned, one above the head missing_tail', async () => {
      let now = 1_700_000_000_000;
      const clock: Clock = { now: () => now, monotonic: () => now };
      const { db, store, configFile, openLog } = await setUp(clock);
      try {
        const audit = await openLog();
        for (let i = 0; i < 8; i += 1) {
          await audit.recordSecurityEvent({
            tenant: 'acme',
            event: 'connect',
            decision: 'allow',
            target: `service:s${i}`,
          });
        }
        await audit.close();
        const cp4 = (await store.audit.listCheckpoints('acme', 0)).find((c) => c.seq === 4);
        const cp8 = (await store.audit.listCheckpoints('acme', 0)).find((c) => c.seq === 8);
        expect(cp4 && cp8).toBeDefined();
        now += 10 * 86_400_000;
        const later = await openLog(5);
        await later.recordSecurityEvent({ tenant: 'acme', event: 'connect', decision: 'allow', target: 'service:new' });
        // Retention runs at start and again here (idempotent): everything older than 5 days goes, through seq 8.
        await later.pruneExpired();
        await later.close();
        const head = await store.audit.readHead('acme');
        expect(head?.anchorSeq).toBe(8);

        const ok = await verify(configFile, 'acme', '--json');
        expect(ok.code).toBe(0);
        expect(parse(ok.stdout)).toMatchObject({ ok: true, anchorSeq: 8, anchor: 'signed' });
        // The anchor itself is a checkpoint the outside one must match ...
        const atAnchor = await verify(configFile, 'acme', '--checkpoint', `8:${cp8?.hash}`, '--json');
        expect(atAnchor.code).toBe(0);
        expect(parse(atAnchor.stdout)).toMatchObject({ ok: true, expected: 'anchor' });
        const wrongAtAnchor = await verify(configFile, 'acme', '--checkpoint', `8:${'ab'.repeat(32)}`, '--json');
        expect(wrongAtAnchor.code).toBe(1);
        expect(parse(wrongAtAnchor.stdout)).toMatchObject({ problem: 'checkpoint_mismatch', firstBadSeq: 8 });
        // ... one below it was pruned by the gateway (the signed anchor proves it): said, not silently ignored.
        const below = await verify(configFile, 'acme', '--checkpoint', `4:${cp4?.hash}`, '--json');
        expect(below.code).toBe(0);
        expect(parse(below.stdout)).toMatchObject({ ok: true, expected: 'pruned' });
        expect((await verify(configFile, 'acme', '--checkpoint', `4:${cp4?.hash}`)).stdout).toMatch(/pruned/);
        // A checkpoint above the head: records it vouched for are gone.
        const ahead = await verify(configFile, 'acme', '--checkpoint', `99:${cp8?.hash}`, '--json');
        expect(ahead.code).toBe(1);
        expect(parse(ahead.stdout)).toMatchObject({ problem: 'missing_tail', firstBadSeq: 99 });

        // An anchor MAC is not a checkpoint MAC: copying checkpoint 8's MAC into an unsigned move does not pass.
        await db.raw(`update audit_heads set anchor_mac = '${cp8?.mac}' where tenant_id = 'acme'`);
        const swapped = await verify(configFile, 'acme', '--json');
        expect(swapped.code).toBe(1);
        expect(parse(swapped.stdout)).toMatchObject({ problem: 'anchor_forged', firstBadSeq: 8 });
        // Without the master key the anchor cannot be checked: not intact.
        const keyless = join(tempDir, `${target.name}-keyless.yaml`);
        writeFileSync(keyless, `dataDir: ${mkdtempSync(join(tempDir, 'k-'))}\nstore: "${db.url}"\n`);
        const noKey = await verify(keyless, 'acme', '--json');
        expect(noKey.code).toBe(1);
        expect(parse(noKey.stdout)).toMatchObject({ ok: false, problem: 'checkpoint_key_unavailable' });
      } finally {
        await store.close();
        await db.drop();
      }
    });

    it('AU-04 (issue 17 review: audit anchor move) an anchor from before signed anchors is kept as legacy: triggers pin it, a checkpoint below it is checkpoint_pruned', async () => {
      const { db, store, configFile, openLog } = await setUp();
      try {
        const audit = await openLog();
        for (let i = 0; i < 8; i += 1) {
          await audit.recordSecurityEvent({
            tenant: 'acme',
            event: 'connect',
            decision: 'allow',
            target: `service:s${i}`,
          });
        }
        await audit.close();
        const cp4 = (await store.audit.listCheckpoints('acme', 0)).find((c) => c.seq === 4);
        // A database as it was before 0012_audit_anchor_mac, pruned through seq 4 then (unsigned, as prunes were).
        const t = "'acme'";
        await db.raw(
          [
            ...(target.name === 'postgres'
              ? ['drop trigger audit_heads_anchor_signed on audit_heads', 'drop function audit_heads_anchor_guard()']
              : [
                  'drop trigger audit_heads_anchor_no_legacy_insert',
                  'drop trigger audit_heads_anchor_no_legacy_update',
                ]),
            'alter table audit_heads drop column anchor_mac',
            `delete from kysely_migration where name = '0012_audit_anchor_mac'`,
            `update audit_heads set anchor_seq = 4, anchor_hash = (select hash from audit_records where tenant_id = ${t} and seq = 4) where tenant_id = ${t}`,
            `delete from audit_records where tenant_id = ${t} and seq <= 4`,
          ].join(';\n'),
        );
        await store.migrate();
        expect(await store.audit.readHead('acme')).toMatchObject({ anchorLegacy: true, anchorMac: null });
        const ok = await verify(configFile, 'acme', '--json');
        expect(ok.code).toBe(0);
        expect(parse(ok.stdout)).toMatchObject({ ok: true, anchorSeq: 4, anchor: 'legacy' });
        const atAnchor = await verify(configFile, 'acme', '--checkpoint', `4:${cp4?.hash}`, '--json');
        expect(atAnchor.code).toBe(0);
        expect(parse(atAnchor.stdout)).toMatchObject({ ok: true, expected: 'anchor' });
        // No signed anchor proves the gateway pruned past an outside checkpoint at seq 3: exit 1, said.
        const below = await verify(configFile, 'acme', '--checkpoint', `3:${cp4?.hash}`, '--json');
        expect(below.code).toBe(1);
        expect(parse(below.stdout)).toMatchObject({ ok: false, problem: 'checkpoint_pruned', firstBadSeq: 3 });

        // The legacy mark cannot be carried forward, re-hashed, set or inserted by a database writer ...
        const refused = /legacy anchor cannot be created or moved/;
        await expect(
          db.raw(
            `update audit_heads set anchor_seq = 6, anchor_hash = (select hash from audit_records where tenant_id = ${t} and seq = 6) where tenant_id = ${t}`,
          ),
        ).rejects.toThrow(refused);
        await expect(
          db.raw(`update audit_heads set anchor_hash = '${'0'.repeat(64)}' where tenant_id = ${t}`),
        ).rejects.toThrow(refused);
        await expect(
          db.raw(
            `insert into audit_heads (tenant_id, seq, hash, anchor_seq, anchor_hash, anchor_mac) values ('other', 5, 'h', 5, 'h', 'legacy')`,
          ),
        ).rejects.toThrow(refused);
        await db.raw(
          `insert into audit_heads (tenant_id, seq, hash, anchor_seq, anchor_hash) values ('other', 5, 'h', 0, 'h')`,
        );
        await expect(db.raw(`update audit_heads set anchor_mac = 'legacy' where tenant_id = 'other'`)).rejects.toThrow(
          refused,
        );
        // ... and moving it without the mark leaves an unsigned anchor: anchor_forged.
        await db.raw(
          `update audit_heads set anchor_seq = 6, anchor_mac = null, anchor_hash = (select hash from audit_records where tenant_id = ${t} and seq = 6) where tenant_id = ${t}`,
        );
        const moved = await verify(configFile, 'acme', '--json');
        expect(moved.code).toBe(1);
        expect(parse(moved.stdout)).toMatchObject({ ok: false, problem: 'anchor_forged', firstBadSeq: 6 });
      } finally {
        await store.close();
        await db.drop();
      }
    });
  });
}
