import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { testDatabases } from '../../test/support/test-databases.ts';
import { type Clock, GatehouseError, systemClock } from '../core/index.ts';
import { openStore, type Store } from '../store/index.ts';
import { createLocalMasterKeyProvider, createVault } from '../vault/index.ts';
import { type AuditLog, createAuditLog, type ToolCallAuditEntry } from './create-audit-log.ts';
import { loadAuditCheckpointKey } from './load-audit-checkpoint-key.ts';
import { verifyAuditChain } from './verify-audit-chain.ts';

/**
 * The audit log over real stores: SQLite files always, PostgreSQL when GATEHOUSE_TEST_POSTGRES is set (own schema
 * per test). Tampering goes around the store by raw SQL, after dropping the append-only triggers as the owner would.
 */
const tempDir = mkdtempSync(join(tmpdir(), 'gh-audit-'));
afterAll(() => rmSync(tempDir, { recursive: true, force: true }));

const backends = testDatabases(tempDir);

function entry(tenant: string, n: number, overrides: Partial<ToolCallAuditEntry> = {}): ToolCallAuditEntry {
  return {
    tenant,
    requestId: `req-${n}`,
    toolset: 'support',
    clientKey: 'agent',
    subject: n % 2 === 0 ? 'alice' : 'bob',
    tool: n % 3 === 0 ? 'pets_delete' : 'pets_list',
    method: 'GET',
    pathTemplate: '/pets',
    decision: n % 3 === 0 ? 'deny' : 'allow',
    code: n % 3 === 0 ? 'tool_not_allowed' : null,
    upstreamStatus: n % 3 === 0 ? null : 200,
    latencyMs: 0.125 * n,
    ...overrides,
  };
}

function masterKeyVault(store: Store, key: Buffer) {
  const masterKeys = createLocalMasterKeyProvider(() => [{ version: 1, key: Buffer.from(key) }], 'test');
  return createVault({ dataKeys: store.dataKeys, masterKeys, clock: systemClock });
}

async function expectCode(promise: Promise<unknown>, code: string): Promise<void> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(GatehouseError);
  expect((error as GatehouseError).code).toBe(code);
}

for (const backend of backends) {
  describe.skipIf(!backend.enabled)(`audit log on ${backend.name}`, () => {
    async function open(tenants = ['acme'], clock: Clock = systemClock) {
      const database = await backend.create();
      const store = await openStore(database.url, { busyTimeoutMs: 10_000 });
      await store.migrate();
      const audit = await createAuditLog({ repository: store.audit, clock, tenants });
      return {
        database,
        store,
        audit,
        async close() {
          await audit.close();
          await store.close();
          await database.drop();
        },
      };
    }

    async function writeMany(audit: AuditLog, tenant: string, count: number) {
      await Promise.all(Array.from({ length: count }, (_, i) => audit.recordToolCall(entry(tenant, i + 1))));
    }

    it('summarize() counts tool calls, errors, denials and mean latency per hour, inside the window only', async () => {
      const hour = 3_600_000;
      const base = Date.UTC(2026, 11, 3, 10);
      let at = base;
      const t = await open(['acme', 'beta'], { now: () => at, monotonic: () => performance.now() });
      try {
        const calls: [number, Partial<ToolCallAuditEntry>][] = [
          [base - 1, { tool: 'before_window' }],
          [base + 5, { tool: 'pets_list', latencyMs: 10, decision: 'allow' }],
          [base + hour - 1, { tool: 'pets_list', latencyMs: 30, decision: 'error', code: 'upstream_failed' }],
          [base + hour, { tool: 'pets_delete', latencyMs: 5, decision: 'deny', code: 'tool_not_allowed' }],
          [base + 3 * hour + 7, { tool: 'pets_list', latencyMs: 20, decision: 'allow' }],
        ];
        for (const [when, overrides] of calls) {
          at = when;
          await t.audit.recordToolCall(entry('acme', 1, overrides));
        }
        await t.audit.recordToolCall(entry('beta', 1));
        await t.audit.recordSecurityEvent({
          tenant: 'acme',
          event: 'user_sign_in',
          decision: 'deny',
          code: 'unauthenticated',
        });
        await t.audit.flush();
        const summary = await t.store.audit.summarize({
          tenantId: 'acme',
          since: base,
          until: base + 4 * hour,
          bucketMs: hour,
        });
        expect(summary.buckets).toEqual([
          { start: base, calls: 2, errors: 1, denials: 0, latencyMs: 20 },
          { start: base + hour, calls: 1, errors: 0, denials: 1, latencyMs: 5 },
          { start: base + 3 * hour, calls: 1, errors: 0, denials: 0, latencyMs: 20 },
        ]);
      } finally {
        await t.close();
      }
    });

    it('concurrent records form one gapless chain per tenant, in few transactions', async () => {
      const t = await open(['acme', 'beta']);
      try {
        let transactions = 0;
        const appendBatch = t.store.audit.appendBatch;
        t.store.audit.appendBatch = (...args) => {
          transactions += 1;
          return appendBatch(...args);
        };
        await Promise.all([writeMany(t.audit, 'acme', 300), writeMany(t.audit, 'beta', 5)]);
        const records = await t.store.audit.query({ tenantId: 'acme', limit: 10_000 });
        expect(records.map((r) => r.seq)).toEqual(Array.from({ length: 300 }, (_, i) => i + 1));
        expect(records.map((r) => r.requestId)).toEqual(Array.from({ length: 300 }, (_, i) => `req-${i + 1}`));
        // The first record finds the log idle and is written at once; the other 304 queue during that flush and
        // follow in batches of at most 256: 1 + 2 transactions for acme, plus one for the other tenant.
        expect(transactions).toBe(4);
        expect(await verifyAuditChain(t.store.audit, 'acme')).toMatchObject({ ok: true, checked: 300, headSeq: 300 });
        expect(await verifyAuditChain(t.store.audit, 'beta')).toMatchObject({ ok: true, checked: 5 });
        expect(await verifyAuditChain(t.store.audit, 'nobody')).toMatchObject({ ok: true, checked: 0 });
      } finally {
        await t.close();
      }
    });

    it('an idle log writes an awaited record in the same turn, an answerFirst record only in the next', async () => {
      const t = await open();
      try {
        let transactions = 0;
        const appendBatch = t.store.audit.appendBatch;
        t.store.audit.appendBatch = (...args) => {
          transactions += 1;
          return appendBatch(...args);
        };
        expect(t.audit.isIdle()).toBe(true);
        const awaited = t.audit.recordToolCall(entry('acme', 1));
        expect(transactions).toBe(1);
        expect(t.audit.isIdle()).toBe(false);
        await awaited;
        await new Promise((resolve) => setImmediate(resolve));
        await new Promise((resolve) => setImmediate(resolve));
        expect(t.audit.isIdle()).toBe(true);

        const first = t.audit.recordToolCall(entry('acme', 2), { answerFirst: true });
        const second = t.audit.recordToolCall(entry('acme', 3), { answerFirst: true });
        expect(transactions).toBe(1);
        await Promise.all([first, second]);
        expect(transactions).toBe(2);
        const records = await t.store.audit.query({ tenantId: 'acme', limit: 10 });
        expect(records.map((r) => r.requestId)).toEqual(['req-1', 'req-2', 'req-3']);
      } finally {
        await t.close();
      }
    });

    it('AU-04 verify reports the first bad seq of an edited, a deleted and a reordered record', async () => {
      const t = await open();
      try {
        await writeMany(t.audit, 'acme', 12);
        const dropTriggers =
          backend.name === 'postgres'
            ? 'alter table audit_records disable trigger user'
            : 'drop trigger audit_records_no_update; drop trigger audit_records_no_delete';
        await t.database.raw(dropTriggers);
        expect(await verifyAuditChain(t.store.audit, 'acme')).toMatchObject({ ok: true, checked: 12 });

        await t.database.raw(`update audit_records set decision = 'allow' where tenant_id = 'acme' and seq = 9`);
        expect(await verifyAuditChain(t.store.audit, 'acme')).toMatchObject({
          ok: false,
          firstBadSeq: 9,
          problem: 'hash_mismatch',
        });
        await t.database.raw(`delete from audit_records where tenant_id = 'acme' and seq >= 9`);
        expect(await verifyAuditChain(t.store.audit, 'acme')).toMatchObject({
          ok: false,
          firstBadSeq: 9,
          problem: 'missing_tail',
        });
        await t.database.raw(`delete from audit_records where tenant_id = 'acme' and seq = 5`);
        expect(await verifyAuditChain(t.store.audit, 'acme')).toMatchObject({
          ok: false,
          firstBadSeq: 5,
          problem: 'missing_record',
        });
        // Reorder: records 2 and 3 swap positions (seq values), content untouched.
        await t.database.raw(`update audit_records set seq = -2 where tenant_id = 'acme' and seq = 2;
          update audit_records set seq = 2 where tenant_id = 'acme' and seq = 3;
          update audit_records set seq = 3 where tenant_id = 'acme' and seq = -2`);
        expect(await verifyAuditChain(t.store.audit, 'acme')).toMatchObject({ ok: false, firstBadSeq: 2 });
      } finally {
        await t.close();
      }
    });

    it('verify on a live log (issue 13, a fleet under load): records appended after the head was read are not a broken chain; a head moved back still is', async () => {
      const t = await open();
      try {
        await writeMany(t.audit, 'acme', 5);
        // Another process appends right after verify has read the head (the fleet suite saw broken_link here).
        const live = {
          ...t.store.audit,
          query: t.store.audit.query.bind(t.store.audit),
          listCheckpoints: t.store.audit.listCheckpoints.bind(t.store.audit),
          readHead: async (tenant: string) => {
            const head = await t.store.audit.readHead(tenant);
            live.readHead = t.store.audit.readHead.bind(t.store.audit);
            await Promise.all([6, 7, 8].map((n) => t.audit.recordToolCall(entry('acme', n))));
            return head;
          },
        };
        expect(await verifyAuditChain(live, 'acme')).toMatchObject({ ok: true, problem: null, headSeq: 5 });
        expect(await verifyAuditChain(t.store.audit, 'acme')).toMatchObject({ ok: true, checked: 8 });

        // The same shape at rest is tampering: the head moved back behind its records.
        await t.database.raw(
          backend.name === 'postgres'
            ? 'alter table audit_heads disable trigger user'
            : 'drop trigger audit_heads_forward_only; drop trigger audit_heads_anchor_no_legacy_update',
        );
        const [record6] = await t.store.audit.query({ tenantId: 'acme', afterSeq: 5, limit: 1 });
        await t.database.raw(`update audit_heads set seq = 6, hash = '${record6?.hash}' where tenant_id = 'acme'`);
        expect(await verifyAuditChain(t.store.audit, 'acme')).toMatchObject({
          ok: false,
          firstBadSeq: 7,
          problem: 'broken_link',
        });
      } finally {
        await t.close();
      }
    });

    it('a batch whose connection was lost is written once: retried when it did not commit, not rewritten when only its reply was lost (issue 13)', async () => {
      // Found by the fleet fault suite: terminating PostgreSQL's backends lost the records of reads already answered.
      const t = await open();
      try {
        let failures = ['before', 'after'];
        const lost = () => Object.assign(new Error('Connection terminated unexpectedly'), { code: '57P01' });
        const flaky = {
          ...t.store.audit,
          query: t.store.audit.query.bind(t.store.audit),
          readHead: t.store.audit.readHead.bind(t.store.audit),
          containsRecord: t.store.audit.containsRecord.bind(t.store.audit),
          ensureFingerprintKey: t.store.audit.ensureFingerprintKey.bind(t.store.audit),
          appendBatch: async (...args: Parameters<Store['audit']['appendBatch']>) => {
            const failure = failures.shift();
            if (failure === 'before') throw lost();
            const appended = await t.store.audit.appendBatch(...args);
            if (failure === 'after') throw lost();
            return appended;
          },
        };
        const audit = await createAuditLog({ repository: flaky, clock: systemClock, tenants: ['acme'] });
        await audit.recordToolCall(entry('acme', 1)); // fails before the commit, then written
        await audit.recordToolCall(entry('acme', 2)); // committed, its reply lost: not written again
        await audit.close();
        const records = await t.store.audit.query({ tenantId: 'acme' });
        expect(records.map((r) => r.requestId)).toEqual(['req-1', 'req-2']);
        expect(await verifyAuditChain(t.store.audit, 'acme')).toMatchObject({ ok: true, checked: 2 });

        // A store that stays down still rejects, with audit_unavailable (AU-03).
        failures = ['before', 'before', 'before', 'before'];
        const down = await createAuditLog({ repository: flaky, clock: systemClock, tenants: ['acme'] });
        await expectCode(down.recordToolCall(entry('acme', 3)), 'audit_unavailable');
        await down.close();
      } finally {
        await t.close();
      }
    });

    it('the append-only triggers refuse UPDATE and DELETE of audit rows, even for the owner', async () => {
      const t = await open();
      try {
        await writeMany(t.audit, 'acme', 3);
        await expect(t.database.raw(`update audit_records set tool = 'x' where seq = 2`)).rejects.toThrow(
          /append-only/,
        );
        await expect(t.database.raw('delete from audit_records where seq = 3')).rejects.toThrow(/append-only/);
        await expect(t.database.raw('update audit_heads set seq = 1')).rejects.toThrow(/only move forward/);
        await expect(t.database.raw('delete from audit_heads')).rejects.toThrow(/only move forward/);
        if (backend.name === 'postgres') {
          await expect(t.database.raw('truncate audit_records')).rejects.toThrow(/append-only/);
        }
        expect(await verifyAuditChain(t.store.audit, 'acme')).toMatchObject({ ok: true, checked: 3 });
      } finally {
        await t.close();
      }
    });

    it('several processes appending at once keep one valid, gapless chain', async () => {
      const t = await open(['multi']);
      try {
        const child = join(import.meta.dirname, '..', '..', 'test', 'support', 'append-audit-records.ts');
        const run = () =>
          promisify(execFile)(process.execPath, ['--import', 'tsx', child, t.database.url, 'multi', '60', '15']);
        await Promise.all([run(), run(), run()]);
        const records = await t.store.audit.query({ tenantId: 'multi', limit: 1_000 });
        expect(records.map((r) => r.seq)).toEqual(Array.from({ length: 180 }, (_, i) => i + 1));
        expect(await verifyAuditChain(t.store.audit, 'multi')).toMatchObject({ ok: true, checked: 180 });
      } finally {
        await t.close();
      }
    }, 30_000);

    it('retention prunes a chain prefix, records the new anchor, and the rest still verifies', async () => {
      let now = 1_700_000_000_000;
      const clock: Clock = { now: () => now, monotonic: () => now };
      const t = await open(['acme'], clock);
      try {
        await writeMany(t.audit, 'acme', 5);
        now += 10 * 86_400_000;
        await writeMany(t.audit, 'acme', 3);
        const vault = masterKeyVault(t.store, randomBytes(32));
        const retained = await createAuditLog({
          repository: t.store.audit,
          clock,
          keys: vault,
          tenants: ['acme'],
          retentionDays: 5,
        });
        // Retention runs at start; pruneExpired is idempotent.
        await retained.flush();
        await new Promise((resolve) => setTimeout(resolve, 50));
        await retained.flush();
        expect(await retained.pruneExpired()).toBe(0);
        await retained.close();
        const records = await t.store.audit.query({ tenantId: 'acme' });
        expect(records.map((r) => r.seq)).toEqual([6, 7, 8, 9]);
        expect(records.at(-1)).toMatchObject({ kind: 'security', event: 'retention_pruned', target: 'through_seq:5' });
        // The gateway signed the anchor it moved (issue 17 review): verify proves the prune with the key ...
        const checkpointKey = await loadAuditCheckpointKey(t.store.audit, vault, 'acme');
        expect(
          await verifyAuditChain(t.store.audit, 'acme', { ...(checkpointKey ? { checkpointKey } : {}) }),
        ).toMatchObject({ ok: true, anchorSeq: 5, checked: 4, anchor: 'signed' });
        // ... and cannot vouch for it without.
        expect(await verifyAuditChain(t.store.audit, 'acme')).toMatchObject({
          ok: false,
          anchor: 'unchecked',
          problem: 'checkpoint_key_unavailable',
        });
        // The anchor moved, so the pruned prefix is gone for good; the rest stays protected.
        await expect(t.database.raw('delete from audit_records where seq = 6')).rejects.toThrow(/append-only/);
      } finally {
        await t.close();
      }
    });

    it('AU-03 a record the store refuses rejects with audit_unavailable', async () => {
      const t = await open();
      try {
        await t.store.close();
        await expectCode(t.audit.recordToolCall(entry('acme', 1)), 'audit_unavailable');
        await expectCode(t.audit.recordToolIntent(entry('acme', 2)), 'audit_unavailable');
      } finally {
        await t.audit.close();
        await t.database.drop();
      }
    });

    it('security records keep a closed schema; fingerprints are keyed per tenant and stable across restarts', async () => {
      const database = await backend.create();
      const masterKey = randomBytes(32);
      const store = await openStore(database.url);
      try {
        await store.migrate();
        const vault = masterKeyVault(store, masterKey);
        const first = await createAuditLog({
          repository: store.audit,
          clock: systemClock,
          keys: vault,
          tenants: ['a', 'b'],
        });
        const secret = 'ghp_0123456789abcdefghijklmnopqrstuvwxyz';
        const fingerprint = first.fingerprintSecret('a', secret);
        expect(fingerprint).toMatch(/^fp_[0-9a-f]{32}$/);
        expect(first.fingerprintSecret('b', secret)).not.toBe(fingerprint);
        expect(first.fingerprintSecret('a', `${secret}x`)).not.toBe(fingerprint);
        expect(() => first.fingerprintSecret('c', secret)).toThrow(GatehouseError);
        await first.recordSecurityEvent({
          tenant: 'a',
          event: 'key_revoked',
          decision: 'allow',
          target: 'key:agent',
          detail: 'admin_api',
          fingerprint,
        });
        await first.recordSecurityEvent({
          tenant: 'a',
          event: 'decrypt_failed',
          decision: 'error',
          detail: 'Bearer secret text\nforged line',
          target: 'service:pets/credential with spaces',
        });
        await first.close();
        const second = await createAuditLog({
          repository: store.audit,
          clock: systemClock,
          keys: masterKeyVault(store, masterKey),
          tenants: ['a'],
        });
        expect(second.fingerprintSecret('a', secret)).toBe(fingerprint);
        await second.close();
        const records = await store.audit.query({ tenantId: 'a', kind: 'security' });
        expect(records.map((r) => [r.event, r.detail, r.target, r.fingerprint])).toEqual([
          ['key_revoked', 'admin_api', 'key:agent', fingerprint],
          ['decrypt_failed', 'invalid', 'invalid', null],
        ]);
        expect(JSON.stringify(records)).not.toContain(secret.slice(4, 16));
        // A keyed log signs checkpoints: verified with the key, refused as unverifiable without it.
        const checkpointKey = await loadAuditCheckpointKey(store.audit, masterKeyVault(store, masterKey), 'a');
        expect(await verifyAuditChain(store.audit, 'a', { ...(checkpointKey ? { checkpointKey } : {}) })).toMatchObject(
          { ok: true, checked: 2, checkpoints: 1, checkpointSeq: 2, checkpointsAuthenticated: true },
        );
        expect(await verifyAuditChain(store.audit, 'a')).toMatchObject({
          ok: false,
          problem: 'checkpoint_key_unavailable',
        });
      } finally {
        await store.close();
        await database.drop();
      }
    });
  });
}
