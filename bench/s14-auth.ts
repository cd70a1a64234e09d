/**
 * S14 (BENCHMARKS.md), authentication half: what `gateway.authenticate()` costs per request for an OAuth access
 * token of Gatehouse's own authorization server against a client key, in one run, interleaved (key, token, key,
 * token ...), median of `--rounds`. Two cases:
 * - steady state (the verified-credential cache of `clientKeyCache.ttlSeconds`, default 1 s, holds the credential):
 *   one SHA-256 and one map lookup for either;
 * - cold (cache off, `clientKeyCache.ttlSeconds: 0`): one indexed store read each (SQLite), no decryption, no KDF.
 * The token is written to the store as the authorization server writes it (hashed id, sealed payload, the
 * columns the bearer check reads), so the check runs exactly the production code.
 *
 *   npx tsx bench/s14-auth.ts [--iterations 20000] [--rounds 5]
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { hashToken } from '../src/auth-server/index.ts';
import { parseConfig, systemClock } from '../src/core/index.ts';
import { createGateway } from '../src/gateway/index.ts';
import { openAdapters } from '../src/open-adapters.ts';
import { median } from './percentile.ts';

const { values: args } = parseArgs({
  options: { iterations: { type: 'string', default: '20000' }, rounds: { type: 'string', default: '5' } },
});
const iterations = Number(args.iterations);
const rounds = Number(args.rounds);
const description = join(import.meta.dirname, '..', 'test', 'fixtures', 'fake-api.openapi.yaml');
const clientKey = `gatehouse_sk_${randomBytes(32).toString('base64url')}`;
const accessToken = randomBytes(32).toString('base64url');

async function open(cacheMs: number) {
  const dataDir = mkdtempSync(join(tmpdir(), 'gatehouse-s14-'));
  const config = parseConfig(
    {
      listen: '127.0.0.1:8787',
      publicUrl: 'http://127.0.0.1:8787',
      dataDir,
      logLevel: 'silent',
      masterKey: randomBytes(32).toString('base64'),
      clientKeyCache: { ttlSeconds: cacheMs / 1000 },
      tenants: [
        {
          id: 'acme',
          services: [{ id: 'fake', openapi: description, baseUrl: 'http://127.0.0.1:9' }],
          toolsets: [{ id: 'reader', tools: ['fake_*'] }],
          clientKeys: [{ name: 'agent', key: clientKey, toolsets: ['reader'] }],
        },
      ],
    },
    { env: {}, baseDir: process.cwd() },
  );
  const adapters = await openAdapters(config, { stderr: { write: () => true } as unknown as NodeJS.WritableStream });
  const gateway = await createGateway({
    config,
    ...adapters,
    upstream: { send: () => Promise.reject(new Error('unused')), close: async () => {}, abort: async () => {} },
    clock: systemClock,
  });
  const idHash = hashToken(accessToken);
  await adapters.store.oauthServer.upsert({
    tenantId: 'acme',
    model: 'AccessToken',
    idHash,
    payload: await adapters.vault.encrypt(
      { tenantId: 'acme', owner: `oauth:AccessToken:${idHash}`, field: 'payload' },
      JSON.stringify({ jti: accessToken }),
    ),
    grantId: 'bench-grant',
    uidHash: null,
    aud: 'http://127.0.0.1:8787/mcp/acme/reader',
    accountId: 'alice',
    clientId: 'bench-client',
    expiresAt: Date.now() + 3_600_000,
    consumedAt: null,
  });
  return {
    gateway,
    async close() {
      await gateway.close?.();
      await adapters.close();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

async function time(gateway: Awaited<ReturnType<typeof open>>['gateway'], header: string, n: number): Promise<number> {
  const start = process.hrtime.bigint();
  for (let i = 0; i < n; i++) await gateway.authenticate('acme', 'reader', header);
  return Number(process.hrtime.bigint() - start) / n / 1000;
}

for (const [label, cacheMs, n] of [
  ['steady state (cache 60 s)', 60_000, iterations],
  ['cold (cache off: one store read)', 0, Math.max(1000, Math.floor(iterations / 10))],
] as const) {
  const { gateway, close } = await open(cacheMs);
  const keyHeader = `Bearer ${clientKey}`;
  const tokenHeader = `Bearer ${accessToken}`;
  const oauth = await gateway.authenticate('acme', 'reader', tokenHeader);
  if (oauth.authMethod !== 'oauth' || oauth.subject !== 'alice') throw new Error('the access token did not verify');
  await time(gateway, keyHeader, 1000);
  await time(gateway, tokenHeader, 1000);
  const keys: number[] = [];
  const tokens: number[] = [];
  for (let r = 0; r < rounds; r++) {
    keys.push(await time(gateway, keyHeader, n));
    tokens.push(await time(gateway, tokenHeader, n));
  }
  const key = median(keys);
  const token = median(tokens);
  console.log(
    `S14 authenticate(), ${label}: token ${token.toFixed(2)} us, key ${key.toFixed(2)} us, token/key ${(token / key).toFixed(2)}x (target <= 1.1x)`,
  );
  await close();
}
