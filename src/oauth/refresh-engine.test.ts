import { randomBytes } from 'node:crypto';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type FakeRefreshServer, startFakeRefreshServer } from '../../test/support/start-fake-refresh-server.ts';
import { type Clock, GatehouseError } from '../core/index.ts';
import { type ConnectionRecord, openStore, type Store } from '../store/index.ts';
import { createLocalMasterKeyProvider, createVault, parseMasterKeys, type Vault } from '../vault/index.ts';
import { refreshAndRetry } from './refresh-and-retry.ts';
import { createRefreshEngine, type RefreshEngineDependencies, type RefreshEvent } from './refresh-engine.ts';
import { createStoreRefreshLock, type RefreshLock } from './refresh-lock.ts';
import { createRefreshRequestSender } from './refresh-request.ts';

/** A tenant per test, so sweeps and lists see only that test's connections. */
let tenant = 'acme';
let tenantCount = 0;
let store: Store;
let vault: Vault;
let as: FakeRefreshServer;
let offset = 0;
/** When set, the wall clock stands still there (plus `offset`): a cooldown then cannot run out on a slow machine. */
let frozenAt: number | undefined;
const clock: Clock = {
  now: () => (frozenAt ?? Date.now()) + offset,
  monotonic: () => performance.now() + offset,
};
let events: RefreshEvent[] = [];
let count = 0;

beforeAll(async () => {
  store = await openStore('sqlite::memory:');
  await store.migrate();
  const key = randomBytes(32).toString('hex');
  vault = createVault({
    dataKeys: store.dataKeys,
    masterKeys: createLocalMasterKeyProvider(() => parseMasterKeys(key, 'test'), 'test'),
    clock,
  });
});
afterAll(() => store.close());
beforeEach(async () => {
  as = await startFakeRefreshServer();
  events = [];
  offset = 0;
  frozenAt = undefined;
  tenant = `acme-${++tenantCount}`;
});
afterEach(() => as.close());

const sender = () =>
  createRefreshRequestSender(() => ({
    tokenUrl: as.tokenUrl,
    clientId: as.clientId,
    clientSecret: as.clientSecret,
    unsafeAllowHttp: true,
  }));

function engineWith(overrides: Partial<RefreshEngineDependencies> = {}) {
  return createRefreshEngine({
    store,
    vault,
    clock,
    sendRefresh: sender(),
    onEvent: (event) => events.push(event),
    ...overrides,
  });
}

/** A connection holding a freshly seeded token family, expiring `expiresInMs` from now (negative: expired). */
async function connect(
  expiresInMs: number,
): Promise<ConnectionRecord & { seededRefresh: string; seededAccess: string }> {
  const id = `conn-${++count}`;
  const seeded = as.seed();
  const scope = { tenantId: tenant, owner: `connection:${id}` };
  const record = await store.connections.upsert({
    tenantId: tenant,
    id,
    service: 'github',
    subject: `user-${count}`,
    status: 'active',
    scopes: ['read'],
    accessToken: await vault.encrypt({ ...scope, field: 'access_token' }, seeded.accessToken),
    refreshToken: await vault.encrypt({ ...scope, field: 'refresh_token' }, seeded.refreshToken),
    accessExpiresAt: clock.now() + expiresInMs,
    createdAt: clock.now(),
  });
  return { ...record, seededRefresh: seeded.refreshToken, seededAccess: seeded.accessToken };
}

async function storedTokens(id: string) {
  const record = (await store.connections.get(tenant, id)) as ConnectionRecord;
  const scope = { tenantId: tenant, owner: `connection:${id}` };
  return {
    record,
    access: await vault.decrypt({ ...scope, field: 'access_token' }, record.accessToken as Uint8Array),
    refresh: await vault.decrypt({ ...scope, field: 'refresh_token' }, record.refreshToken as Uint8Array),
  };
}

async function errorOf(promise: Promise<unknown>): Promise<GatehouseError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(GatehouseError);
  return error as GatehouseError;
}

describe('createRefreshEngine()', () => {
  it('returns the stored token without a token request while it is fresh', async () => {
    const c = await connect(3_600_000);
    const token = await engineWith().ensureFresh(tenant, c.id);
    expect(token.accessToken).toBe(c.seededAccess);
    expect(as.tokenRequests()).toBe(0);
  });

  it('reconnect_served_stale_token: a caller that read a newer row than the cached one (a reconnect, a step-up consent) gets the new token, not the cached one', async () => {
    const c = await connect(3_600_000);
    const engine = engineWith();
    expect((await engine.ensureFresh(tenant, c.id)).accessToken).toBe(c.seededAccess);
    // The person consents again (wider scopes): the callback replaces the row's tokens, in this or another process.
    const scope = { tenantId: tenant, owner: `connection:${c.id}` };
    const reconnected = await store.connections.upsert({
      tenantId: tenant,
      id: c.id,
      service: c.service,
      subject: c.subject,
      status: 'active',
      scopes: ['read', 'write'],
      accessToken: await vault.encrypt({ ...scope, field: 'access_token' }, 'the-wider-access-token'),
      refreshToken: await vault.encrypt({ ...scope, field: 'refresh_token' }, 'the-wider-refresh-token'),
      accessExpiresAt: clock.now() + 3_600_000,
      createdAt: clock.now(),
    });
    expect(reconnected.tokenVersion).toBeGreaterThan(c.tokenVersion);
    const token = await engine.ensureFresh(tenant, c.id, { knownVersion: reconnected.tokenVersion });
    expect(token).toMatchObject({ accessToken: 'the-wider-access-token', scopes: ['read', 'write'] });
    expect(token.tokenVersion).toBe(reconnected.tokenVersion);
    expect(as.tokenRequests()).toBe(0);
  });

  it('RF-01 50 concurrent calls with an expired access token make exactly 1 token request and all use the new token', async () => {
    const c = await connect(-1_000);
    as.configure({ delayMs: 50 });
    const engine = engineWith();
    const tokens = await Promise.all(Array.from({ length: 50 }, () => engine.ensureFresh(tenant, c.id)));
    expect(as.tokenRequests()).toBe(1);
    const stored = await storedTokens(c.id);
    expect(new Set(tokens.map((t) => t.accessToken))).toEqual(new Set([stored.access]));
    expect(stored.access).not.toBe(c.seededAccess);
    expect(stored.record.tokenVersion).toBe(c.tokenVersion + 1);
    expect(stored.record.scopes).toEqual(['read', 'write']);
  });

  it('refreshes ahead of expiry, inside the margin', async () => {
    const c = await connect(30_000);
    await engineWith({ marginMs: 60_000 }).ensureFresh(tenant, c.id);
    expect(as.tokenRequests()).toBe(1);
    const later = await connect(90_000);
    await engineWith({ marginMs: 60_000 }).ensureFresh(tenant, later.id);
    expect(as.tokenRequests()).toBe(1);
  });

  it('OA-14 keeps the old refresh token when the response has none', async () => {
    as.configure({ rotate: false });
    const c = await connect(-1_000);
    const engine = engineWith();
    await engine.ensureFresh(tenant, c.id);
    expect((await storedTokens(c.id)).refresh).toBe(c.seededRefresh);
    offset = 7_200_000;
    await engine.ensureFresh(tenant, c.id);
    expect(as.sentRefreshTokens()).toEqual([c.seededRefresh, c.seededRefresh]);
    expect(as.tokenRequests()).toBe(2);
  });

  it('OA-15 uses a rotated refresh token next time and never sends the old one again', async () => {
    const c = await connect(-1_000);
    const engine = engineWith();
    for (let i = 1; i <= 3; i++) {
      offset = i * 7_200_000;
      await engine.ensureFresh(tenant, c.id);
    }
    const sent = as.sentRefreshTokens();
    expect(sent).toHaveLength(3);
    expect(new Set(sent).size).toBe(3);
    expect(sent[0]).toBe(c.seededRefresh);
    expect(as.reuses()).toBe(0);
    expect((await storedTokens(c.id)).refresh).not.toBe(c.seededRefresh);
    expect([...as.redemptions().values()].every((n) => n <= 1)).toBe(true);
  });

  it('RF-04 invalid_grant after a sibling rotated: uses the sibling tokens and stays active', async () => {
    as.configure({ reuseDetection: false });
    const c = await connect(-1_000);
    const sibling = engineWith();
    // A holder whose lock no longer protects it (its lease ran out): it reads the row, the sibling rotates the
    // token meanwhile, then it sends the old one.
    const unprotected: RefreshLock = {
      leaseMs: 15_000,
      withLock: async (t, id, fn) => fn({ record: await store.connections.get(t, id), connections: store.connections }),
    };
    const send = sender();
    const late = engineWith({
      lock: unprotected,
      sendRefresh: async (request) => {
        await sibling.ensureFresh(tenant, c.id);
        return send(request);
      },
    });
    const token = await late.ensureFresh(tenant, c.id);
    const stored = await storedTokens(c.id);
    expect(token.accessToken).toBe(stored.access);
    expect(stored.record.status).toBe('active');
    expect(as.tokenRequests()).toBe(2);
    expect(events.some((e) => e.kind === 'sibling_refreshed')).toBe(true);
    expect(events.some((e) => e.kind === 'needs_reauth')).toBe(false);
  });

  it('RF-05 invalid_grant with the stored token unchanged: needs_reauth, a security event, and no further requests', async () => {
    const c = await connect(-1_000);
    as.revokeFamilyOf(c.seededRefresh);
    const engine = engineWith();
    const error = await errorOf(engine.ensureFresh(tenant, c.id));
    expect(error.code).toBe('reauth_required');
    expect(JSON.stringify(error)).not.toContain(c.seededRefresh);
    expect((await store.connections.get(tenant, c.id))?.status).toBe('needs_reauth');
    expect(events).toContainEqual({
      kind: 'needs_reauth',
      tenantId: tenant,
      connectionId: c.id,
      reason: 'invalid_grant',
    });
    expect((await errorOf(engine.ensureFresh(tenant, c.id, { force: true }))).code).toBe('reauth_required');
    expect(as.tokenRequests()).toBe(1);
  });

  const failures = [
    { name: '500', answer: { status: 500 }, reason: 'server_error' },
    { name: '503', answer: { status: 503, body: 'down' }, reason: 'server_error' },
    { name: '429', answer: { status: 429, headers: { 'retry-after': '3' } }, reason: 'rate_limited' },
    // Answers long after the 2 s request timeout this case gets (the others keep the default 10 s, so a slow
    // machine cannot turn their prompt answer into a timeout).
    { name: 'timeout', answer: { status: 200, delayMs: 10_000, json: {} }, reason: 'timeout' },
    { name: 'malformed', answer: { status: 200, body: '{"access_token": 12' }, reason: 'malformed' },
    { name: 'invalid_client', answer: { status: 400, json: { error: 'invalid_client' } }, reason: 'invalid_client' },
  ] as const;
  for (const failure of failures) {
    it(`RF-06 ${failure.name}: credential preserved, failure counted, cooldown before the next non-forced attempt`, async () => {
      const c = await connect(-1_000);
      as.script(failure.answer);
      // The 1 s cooldown is measured on the injected clock, stopped here: it ends when the test moves it on.
      frozenAt = Date.now();
      const engine = engineWith(failure.name === 'timeout' ? { requestTimeoutMs: 2_000 } : {});
      const error = await errorOf(engine.ensureFresh(tenant, c.id));
      expect(error.code).toBe('credential_unavailable');
      expect(typeof error.details.retryAfterMs).toBe('number');
      if (failure.name === '429') expect(error.details.retryAfterMs).toBeGreaterThanOrEqual(2_900);
      const stored = await storedTokens(c.id);
      expect(stored.refresh).toBe(c.seededRefresh);
      expect(stored.record).toMatchObject({ status: 'active', refreshFailures: 1, tokenVersion: c.tokenVersion });
      expect(stored.record.refreshCooldownUntil).toBeGreaterThan(clock.now());
      expect(events.find((e) => e.kind === 'refresh_failed')).toMatchObject({ reason: failure.reason, failures: 1 });
      // Inside the cooldown: no request.
      expect((await errorOf(engine.ensureFresh(tenant, c.id))).code).toBe('credential_unavailable');
      expect(as.tokenRequests()).toBe(1);
      // After it, the same refresh token still works.
      offset = 3_700_000;
      await engine.ensureFresh(tenant, c.id);
      expect(as.tokenRequests()).toBe(2);
      expect((await store.connections.get(tenant, c.id))?.refreshFailures).toBe(0);
    });
  }

  it('RF-07 a token inside the margin keeps working while the token endpoint is down', async () => {
    const c = await connect(20_000);
    as.script({ status: 503 }, { status: 503 });
    const engine = engineWith({ marginMs: 60_000 });
    expect((await engine.ensureFresh(tenant, c.id)).accessToken).toBe(c.seededAccess);
    expect((await engine.ensureFresh(tenant, c.id)).accessToken).toBe(c.seededAccess);
    expect(as.tokenRequests()).toBe(1);
    expect((await store.connections.get(tenant, c.id))?.refreshFailures).toBe(1);
  });

  it('a token inside the margin keeps working while the refresh lock cannot be taken (Redis down); an expired one fails retryably', async () => {
    // Found by the fleet fault suite (issue 13): during a Redis restart every OAuth call inside the margin failed.
    const redisDown: RefreshLock = {
      leaseMs: 15_000,
      withLock: () =>
        Promise.reject(
          new GatehouseError('credential_unavailable', 'Cannot take the refresh lock: Redis is unavailable', {
            reason: 'lock_unavailable',
          }),
        ),
    };
    const engine = engineWith({ marginMs: 60_000, lock: redisDown });
    const inMargin = await connect(20_000);
    expect((await engine.ensureFresh(tenant, inMargin.id)).accessToken).toBe(inMargin.seededAccess);
    const expired = await connect(-1_000);
    const error = await errorOf(engine.ensureFresh(tenant, expired.id));
    expect(error.code).toBe('credential_unavailable');
    expect(error.details).toMatchObject({ reason: 'lock_unavailable' });
    expect(as.tokenRequests()).toBe(0);
  });

  it('OA-16 a 401 on a token believed fresh: one forced refresh and one retry; a second 401 is a typed error', async () => {
    const c = await connect(3_600_000);
    const engine = engineWith();
    const call = (token: { accessToken: string }) =>
      fetch(as.resourceUrl, { headers: { authorization: `Bearer ${token.accessToken}` } });
    as.rejectResource(1);
    const ok = await refreshAndRetry(engine, tenant, c.id, call);
    expect(ok.status).toBe(200);
    expect(as.tokenRequests()).toBe(1);
    as.rejectResource(2);
    const error = await errorOf(refreshAndRetry(engine, tenant, c.id, call));
    expect(error.code).toBe('upstream_unauthorized');
    expect(as.tokenRequests()).toBe(2);
    expect(as.rejectedResourceCalls()).toBe(3);
  });

  it('OA-16 a forced refresh that fails does not hand back the refused token', async () => {
    const c = await connect(3_600_000);
    const engine = engineWith();
    const first = await engine.ensureFresh(tenant, c.id);
    as.script({ status: 503 });
    const error = await errorOf(engine.ensureFresh(tenant, c.id, { force: true, rejectedVersion: first.tokenVersion }));
    expect(error.code).toBe('credential_unavailable');
    expect(as.tokenRequests()).toBe(1);
    // A caller that was not refused still gets the unexpired token (RF-07).
    expect((await engine.ensureFresh(tenant, c.id)).accessToken).toBe(c.seededAccess);
  });

  it('OA-16 concurrent 401s on one token share one forced refresh', async () => {
    const c = await connect(3_600_000);
    const engine = engineWith();
    const first = await engine.ensureFresh(tenant, c.id);
    const forced = await Promise.all(
      Array.from({ length: 10 }, () =>
        engine.ensureFresh(tenant, c.id, { force: true, rejectedVersion: first.tokenVersion }),
      ),
    );
    expect(as.tokenRequests()).toBe(1);
    expect(new Set(forced.map((t) => t.tokenVersion))).toEqual(new Set([first.tokenVersion + 1]));
  });

  it('FT-05 store unavailable when the token expires: no refresh is attempted and the call fails fast, retryably', async () => {
    const own = await openStore('sqlite::memory:');
    await own.migrate();
    const ownVault = createVault({
      dataKeys: own.dataKeys,
      masterKeys: createLocalMasterKeyProvider(() => parseMasterKeys(randomBytes(32).toString('hex'), 't'), 't'),
      clock,
    });
    const seeded = as.seed();
    const scope = { tenantId: tenant, owner: 'connection:c1' };
    await own.connections.upsert({
      tenantId: tenant,
      id: 'c1',
      service: 'github',
      subject: 'alice',
      status: 'active',
      scopes: [],
      accessToken: await ownVault.encrypt({ ...scope, field: 'access_token' }, seeded.accessToken),
      refreshToken: await ownVault.encrypt({ ...scope, field: 'refresh_token' }, seeded.refreshToken),
      accessExpiresAt: clock.now() + 120_000,
      createdAt: clock.now(),
    });
    // The lock's own defaults, spelled out: a refresh that waited for the lock would wait up to its 10 s.
    const lock = createStoreRefreshLock(own.connections, { clock, waitMs: 10_000 });
    const engine = createRefreshEngine({
      store: own,
      vault: ownVault,
      clock,
      lock,
      sendRefresh: sender(),
      marginMs: 60_000,
    });
    expect((await engine.ensureFresh(tenant, 'c1')).accessToken).toBe(seeded.accessToken);
    await own.close();
    // Still fresh and cached: keeps working without the store.
    expect((await engine.ensureFresh(tenant, 'c1')).accessToken).toBe(seeded.accessToken);
    offset = 90_000;
    const started = performance.now();
    const error = await errorOf(engine.ensureFresh(tenant, 'c1'));
    expect(error.code).toBe('store_unavailable');
    // Fast: well under a fifth of the 10 s lock wait a refresh waiting for the lock would spend.
    expect(performance.now() - started).toBeLessThan(2_000);
    expect(as.tokenRequests()).toBe(0);
  });

  it('RF-03 a holder paused past its lease cannot overwrite the tokens its successor committed', async () => {
    as.configure({ rotate: false });
    const c = await connect(-1_000);
    let pauseFirst = true;
    // The first holder pauses after its answer until the successor has committed: past its lease by construction,
    // not by sleeping. The lease (its token request may take 0.8 of it) is long enough for a loaded machine.
    let pausedAt: () => void = () => {};
    const firstPaused = new Promise<void>((resolve) => {
      pausedAt = resolve;
    });
    let resumeFirst: () => void = () => {};
    const successorDone = new Promise<void>((resolve) => {
      resumeFirst = resolve;
    });
    const lock = createStoreRefreshLock(store.connections, { clock, leaseMs: 2_000, waitMs: 15_000 });
    const paused = engineWith({
      lock,
      onPhase: async (phase) => {
        if (phase === 'after_response' && pauseFirst) {
          pauseFirst = false;
          pausedAt();
          await successorDone;
        }
      },
    });
    const successor = engineWith({ lock });
    const first = paused.ensureFresh(tenant, c.id);
    await firstPaused;
    const second = await successor.ensureFresh(tenant, c.id);
    resumeFirst();
    const late = await first;
    const stored = await storedTokens(c.id);
    expect(as.tokenRequests()).toBe(2);
    expect(stored.access).toBe(second.accessToken);
    expect(late.accessToken).toBe(second.accessToken);
    expect(stored.record.tokenVersion).toBe(c.tokenVersion + 1);
  });

  it('refreshIdle() refreshes connections expiring before the next sweep; start/stop run it on a timer', async () => {
    const soon = await connect(70_000);
    const later = await connect(3_600_000);
    const engine = engineWith({ marginMs: 60_000, backgroundIntervalMs: 30, backgroundJitterMs: 5 });
    expect(await engine.refreshIdle([tenant], 30_000)).toBe(1);
    expect(as.sentRefreshTokens()).toEqual([soon.seededRefresh]);
    offset = 3_600_000 - 60_000;
    engine.start(() => [tenant]);
    // A wait, not a bound: a sweep that never runs fails it at any length; 15 s leaves a loaded machine room.
    await expect.poll(() => as.tokenRequests(), { timeout: 15_000 }).toBeGreaterThanOrEqual(3);
    await engine.stop();
    const settled = as.tokenRequests();
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(as.tokenRequests()).toBe(settled);
    expect(as.sentRefreshTokens()).toContain(later.seededRefresh);
  });

  it('a missing connection is connection_required; a revoked one is reauth_required', async () => {
    const engine = engineWith();
    expect((await errorOf(engine.ensureFresh(tenant, 'nope'))).code).toBe('connection_required');
    const c = await connect(-1_000);
    await store.connections.setStatus(tenant, c.id, 'revoked', clock.now());
    expect((await errorOf(engine.ensureFresh(tenant, c.id))).code).toBe('reauth_required');
    expect(as.tokenRequests()).toBe(0);
  });
});
