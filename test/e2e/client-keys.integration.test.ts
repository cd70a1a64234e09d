import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { systemClock } from '../../src/core/index.ts';
import { issueClientKey } from '../../src/gateway/index.ts';
import { openStore } from '../../src/store/index.ts';
import { type FakeApi, startFakeApi } from '../support/start-fake-api.ts';
import { startTestGateway, type TestGateway } from '../support/start-test-gateway.ts';
import { type TestDatabase, testDatabases } from '../support/test-databases.ts';

/**
 * Client keys across restarts and processes (issue 17, findings 3 and 8(e); CP-03): a revocation survives a
 * restart, a configured key removed from the config stops working, keys made with `keys create` keep working,
 * a revocation made through one gateway is refused by another gateway on the same store within the key cache
 * window, and no stored prefix carries more than 4 characters of an operator's secret.
 */
const description = fileURLToPath(new URL('../fixtures/fake-api.openapi.yaml', import.meta.url));
const adminToken = 'admin-token-for-tests-0123456789';
const masterKey = randomBytes(32).toString('base64');
const kept = 'operator-supplied-key-kept-0123456789abcdef';
const removed = 'operator-supplied-key-removed-0123456789abcdef';

let api: FakeApi;
let dir: string;

beforeAll(async () => {
  api = await startFakeApi();
  dir = mkdtempSync(join(tmpdir(), 'gatehouse-keys-'));
});

afterAll(async () => {
  await api?.close();
  rmSync(dir, { recursive: true, force: true });
});

function tenantConfig(keys: readonly { name: string; key: string }[]) {
  return {
    adminToken,
    masterKey,
    unsafeAllowPrivateUpstreams: ['127.0.0.1'],
    tenants: [
      {
        id: 'acme',
        services: [{ id: 'fake', openapi: description, baseUrl: api.url, auth: { type: 'none' } }],
        toolsets: [{ id: 'reader', tools: ['fake_*'] }],
        clientKeys: keys.map((k) => ({ ...k, toolsets: ['reader'] })),
      },
    ],
  };
}

/** An MCP `tools/list` with `key`: 200 when the key is accepted, 401 when it is not. */
async function statusWith(gateway: TestGateway, key: string): Promise<number> {
  const response = await fetch(`${gateway.url}/mcp/acme/reader`, {
    method: 'POST',
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json', accept: 'application/json' },
    body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/list', params: {} }),
  });
  await response.arrayBuffer();
  return response.status;
}

async function revoke(gateway: TestGateway, id: string): Promise<number> {
  const response = await fetch(`${gateway.url}/api/v1/tenants/acme/keys/${id}`, {
    method: 'DELETE',
    headers: { authorization: `Bearer ${adminToken}` },
  });
  await response.arrayBuffer();
  return response.status;
}

async function listKeys(gateway: TestGateway) {
  const response = await fetch(`${gateway.url}/api/v1/tenants/acme/keys`, {
    headers: { authorization: `Bearer ${adminToken}` },
  });
  return ((await response.json()) as { keys: { id: string; name: string; prefix: string; revokedAt: string }[] }).keys;
}

const databaseDir = mkdtempSync(join(tmpdir(), 'gatehouse-keys-db-'));
afterAll(() => rmSync(databaseDir, { recursive: true, force: true }));

for (const kind of testDatabases(databaseDir).filter((k) => k.enabled)) {
  describe(`client keys across restarts and processes (${kind.name})`, () => {
    let database: TestDatabase;

    beforeAll(async () => {
      database = await kind.create();
    });

    afterAll(async () => {
      await database?.drop();
    });

    it('CP-03 (review finding 3) a configured key revoked through the admin API stays refused after a restart', async () => {
      const first = await startTestGateway(tenantConfig([{ name: 'kept', key: kept }]), { store: database.url });
      try {
        expect(await statusWith(first, kept)).toBe(200);
        expect(await revoke(first, 'config-kept')).toBe(200);
        expect(await statusWith(first, kept)).toBe(401);
      } finally {
        await first.close();
      }
      const second = await startTestGateway(tenantConfig([{ name: 'kept', key: kept }]), { store: database.url });
      try {
        expect(await statusWith(second, kept)).toBe(401);
        expect((await listKeys(second)).find((k) => k.name === 'kept')?.revokedAt).not.toBeNull();
      } finally {
        await second.close();
      }
    });

    it('CP-03 (review finding 3) a configured key missing from the current config stops working; `keys create` keys keep working', async () => {
      const config = tenantConfig([
        { name: 'stays', key: `${kept}-stays` },
        { name: 'goes', key: removed },
      ]);
      const first = await startTestGateway(config, { store: database.url });
      let created: string;
      try {
        expect(await statusWith(first, removed)).toBe(200);
        created = await issueClientKey(first.config, first.adapters.store, systemClock, {
          tenant: 'acme',
          toolsets: ['reader'],
          subject: 'shared',
          name: 'made-by-cli',
          actor: 'cli',
        });
        expect(await statusWith(first, created)).toBe(200);
      } finally {
        await first.close();
      }
      const second = await startTestGateway(tenantConfig([{ name: 'stays', key: `${kept}-stays` }]), {
        store: database.url,
      });
      try {
        expect(await statusWith(second, removed)).toBe(401);
        expect(await statusWith(second, `${kept}-stays`)).toBe(200);
        expect(await statusWith(second, created)).toBe(200);
        const keys = await listKeys(second);
        expect(keys.find((k) => k.name === 'goes')?.revokedAt).not.toBeNull();
        expect(keys.find((k) => k.name === 'made-by-cli')?.revokedAt).toBeNull();
      } finally {
        await second.close();
      }
    });

    it('CP-03 (review: key cache that never expires) a key revoked through one gateway is refused by a second gateway on the same store within the key cache window', async () => {
      const key = `${kept}-two-processes`;
      const config = { ...tenantConfig([{ name: 'shared-key', key }]), clientKeyCache: { ttlSeconds: 1 } };
      const one = await startTestGateway(config, { store: database.url });
      const two = await startTestGateway(config, { store: database.url });
      try {
        // Both gateways have verified (and cached) the key.
        expect(await statusWith(one, key)).toBe(200);
        expect(await statusWith(two, key)).toBe(200);
        expect(await revoke(two, 'config-shared-key')).toBe(200);
        const revokedAt = performance.now();
        // CP-03: refused within 2 s (the window is the configured 1 s). A request sent 2 s after the revocation
        // must be refused: a loaded machine can only send it later, never earlier, so it cannot fail this; a
        // cache that outlives its window (or never expires) answers 200.
        await new Promise((resolve) => setTimeout(resolve, Math.max(0, revokedAt + 2_000 - performance.now())));
        expect(await statusWith(one, key)).toBe(401);
      } finally {
        await one.close();
        await two.close();
      }
    });

    it('CP-03 (review break: rotation then a start with the previous config) a revoked key value stays refused after a rollback, and the rotated key keeps working on both configs', async () => {
      const leaked = `${kept}-leaked-K1`;
      const rotated = `${kept}-rotated-K2`;
      const old = tenantConfig([{ name: 'alice', key: leaked }]);
      const next = tenantConfig([{ name: 'alice', key: rotated }]);
      let gateway = await startTestGateway(old, { store: database.url });
      try {
        expect(await revoke(gateway, 'config-alice')).toBe(200);
        expect(await statusWith(gateway, leaked)).toBe(401);
      } finally {
        await gateway.close();
      }
      gateway = await startTestGateway(next, { store: database.url });
      try {
        expect(await statusWith(gateway, leaked)).toBe(401);
        expect(await statusWith(gateway, rotated)).toBe(200);
      } finally {
        await gateway.close();
      }
      // A rollback, or an old replica restarting during a rolling deploy, while a new one is running.
      const replica = await startTestGateway(next, { store: database.url });
      gateway = await startTestGateway(old, { store: database.url });
      try {
        expect(await statusWith(gateway, leaked)).toBe(401);
        expect(await statusWith(replica, leaked)).toBe(401);
        expect(await statusWith(gateway, rotated)).toBe(200);
        expect(await statusWith(replica, rotated)).toBe(200);
      } finally {
        await gateway.close();
        await replica.close();
      }
      // And the new config once more: still the same.
      gateway = await startTestGateway(next, { store: database.url });
      try {
        expect(await statusWith(gateway, leaked)).toBe(401);
        expect(await statusWith(gateway, rotated)).toBe(200);
      } finally {
        await gateway.close();
      }
    });

    it('ST-08 (review finding 8e) a stored key prefix holds at most 4 characters of an operator-supplied key', async () => {
      const secret = 'operator-secret-for-the-prefix-check-0123456789';
      const gateway = await startTestGateway(tenantConfig([{ name: 'prefixed', key: secret }]), {
        store: database.url,
      });
      try {
        const created = await issueClientKey(gateway.config, gateway.adapters.store, systemClock, {
          tenant: 'acme',
          toolsets: ['reader'],
          subject: 'shared',
          name: 'generated-for-prefix',
          actor: 'cli',
        });
        const keys = await listKeys(gateway);
        const configured = keys.find((k) => k.name === 'prefixed')?.prefix ?? '';
        expect(longestCommonSubstring(configured, secret)).toBeLessThanOrEqual(4);
        const generated = keys.find((k) => k.name === 'generated-for-prefix')?.prefix ?? '';
        // A generated key: the public `gatehouse_sk_` marker plus at most 4 characters of its random part.
        expect(generated.startsWith('gatehouse_sk_')).toBe(true);
        expect(longestCommonSubstring(generated.slice('gatehouse_sk_'.length), created.slice(13))).toBeLessThanOrEqual(
          4,
        );
      } finally {
        await gateway.close();
      }
    });
  });
}

describe('client key prefixes stored before the fix', () => {
  it('ST-08 (review finding 8e) the migration replaces a stored 16-character prefix of a configured key', async () => {
    const migrateDir = mkdtempSync(join(tmpdir(), 'gatehouse-keys-migrate-'));
    try {
      for (const kind of testDatabases(migrateDir).filter((k) => k.enabled)) {
        const database = await kind.create();
        try {
          const store = await openStore(database.url);
          try {
            await store.migrate();
            await store.tenants.ensure('acme', 1);
            await store.clientKeys.upsert({
              tenantId: 'acme',
              id: 'config-old',
              name: 'old',
              hash: 'a'.repeat(64),
              prefix: 'operator-secret-',
              toolsets: ['reader'],
              subject: 'shared',
              createdAt: 1,
              revokedAt: null,
            });
          } finally {
            await store.close();
          }
          // What a store written before the fix holds: the 16 first characters of the operator's key.
          await database.raw(`UPDATE client_keys SET prefix = 'operator-secret-' WHERE id = 'config-old'`);
          // Back to a store before 0010: the later migrations undone as their down() does (Kysely runs them in
          // order only), 0012 (the anchor MAC) and 0011 (revocation tombstones).
          if (kind.name === 'postgres') {
            await database.raw('DROP TRIGGER IF EXISTS audit_heads_anchor_signed ON audit_heads');
            await database.raw('DROP FUNCTION IF EXISTS audit_heads_anchor_guard()');
          } else {
            await database.raw('DROP TRIGGER IF EXISTS audit_heads_anchor_no_legacy_insert');
            await database.raw('DROP TRIGGER IF EXISTS audit_heads_anchor_no_legacy_update');
          }
          await database.raw('ALTER TABLE audit_heads DROP COLUMN anchor_mac');
          await database.raw(`DROP TABLE client_key_revocations`);
          // 0013_oauth_server, 0014_oauth_consents, 0015_user_api_token_uses, 0016_users, 0017_user_sessions,
          // 0018_connection_variables, 0024_tenant_configs, 0027_user_roles and 0028_user_api_tokens.
          await database.raw('ALTER TABLE connections DROP COLUMN variables');
          // 0029_audit_console_indexes, 0030_service_descriptions, 0031_alert_deliveries and 0032_approval_tasks.
          await database.raw('DROP INDEX IF EXISTS audit_records_tool');
          await database.raw('DROP INDEX IF EXISTS audit_records_summary');
          await database.raw('ALTER TABLE usage_daily DROP COLUMN latency_ms_total');
          // 0036_operator_session_ends.
          await database.raw('DROP TABLE operator_session_ends');
          // 0035_connect_outcomes.
          await database.raw('ALTER TABLE oauth_authorizations DROP COLUMN failure');
          await database.raw('ALTER TABLE oauth_authorizations DROP COLUMN site_choice');
          // 0034_connection_last_error.
          for (const column of ['last_error_code', 'last_error_message', 'last_error_at']) {
            await database.raw(`ALTER TABLE connections DROP COLUMN ${column}`);
          }
          for (const table of [
            'approval_tasks',
            'alert_deliveries',
            'service_descriptions',
            'user_api_token_uses',
            'user_api_tokens',
            'user_roles',
            'tenant_config_revisions',
            'tenant_configs',
            'oauth_server_records',
            'oauth_server_keys',
            'oauth_consents',
            'user_sessions',
            'users',
          ]) {
            await database.raw(`DROP TABLE IF EXISTS ${table}`);
          }
          await database.raw(`DELETE FROM kysely_migration WHERE name >= '0010'`);
          const again = await openStore(database.url);
          try {
            await again.migrate();
            const [row] = await again.clientKeys.list('acme');
            expect(longestCommonSubstring(row?.prefix ?? '', 'operator-secret-')).toBeLessThanOrEqual(4);
          } finally {
            await again.close();
          }
        } finally {
          await database.drop();
        }
      }
    } finally {
      rmSync(migrateDir, { recursive: true, force: true });
    }
  });
});

/** Length of the longest run of characters `a` and `b` share. */
function longestCommonSubstring(a: string, b: string): number {
  let best = 0;
  for (let i = 0; i < a.length; i++) {
    for (let j = 0; j < b.length; j++) {
      let n = 0;
      while (i + n < a.length && j + n < b.length && a[i + n] === b[j + n]) n++;
      best = Math.max(best, n);
    }
  }
  return best;
}
