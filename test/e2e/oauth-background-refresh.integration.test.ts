import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import { seedOAuthConnection } from '../support/seed-oauth-connection.ts';
import { type FakeRefreshServer, startFakeRefreshServer } from '../support/start-fake-refresh-server.ts';
import { startTestGateway, type TestGateway } from '../support/start-test-gateway.ts';

const redisUrl = process.env['GATEHOUSE_TEST_REDIS'];
if (redisUrl === undefined) {
  console.log('oauth background refresh: GATEHOUSE_TEST_REDIS is not set; the Redis refresh lease test is skipped');
}
const description = fileURLToPath(new URL('../fixtures/fake-api.openapi.yaml', import.meta.url));

let as: FakeRefreshServer | undefined;
let gateway: TestGateway | undefined;
afterEach(async () => {
  await gateway?.close();
  await as?.close();
  gateway = undefined;
  as = undefined;
});

async function until(check: () => Promise<boolean> | boolean, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

interface Setup {
  readonly grant?: 'authorization_code' | 'client_credentials';
  readonly expiresInMs?: number;
  readonly refreshMarginSeconds?: number;
  readonly redis?: string;
}

async function startWithConnection(fake: FakeRefreshServer, setup: Setup = {}) {
  const grant = setup.grant ?? 'authorization_code';
  const started = await startTestGateway({
    unsafeAllowPrivateUpstreams: ['127.0.0.1'],
    ...(setup.redis === undefined ? {} : { redis: setup.redis }),
    oauthRefresh: { backgroundIntervalSeconds: 0.06 },
    tenants: [
      {
        id: 'acme',
        services: [
          {
            id: 'fake',
            openapi: description,
            baseUrl: fake.url,
            auth: {
              type: 'oauth2',
              grant,
              tokenUrl: fake.tokenUrl,
              clientId: fake.clientId,
              clientSecret: fake.clientSecret,
              ...(setup.refreshMarginSeconds === undefined ? {} : { refreshMarginSeconds: setup.refreshMarginSeconds }),
            },
          },
        ],
        toolsets: [{ id: 'all', tools: ['*'], access: 'write' }],
      },
    ],
  });
  await seedOAuthConnection(started.adapters, fake, {
    tenantId: 'acme',
    id: 'c1',
    service: 'fake',
    subject: 'alice',
    // Inside the default 60 s margin: due for a proactive refresh.
    accessExpiresAt: Date.now() + (setup.expiresInMs ?? 20_000),
  });
  return started;
}

describe('proactive refresh of idle connections (serve)', () => {
  it('the background sweep refreshes a connection inside the margin without any tool call, and stops on close', async () => {
    as = await startFakeRefreshServer({ expiresIn: 1 });
    gateway = await startWithConnection(as);
    const store = gateway.adapters.store;
    await until(async () => ((await store.connections.get('acme', 'c1'))?.tokenVersion ?? 0) >= 3);
    expect(as.tokenRequests()).toBeGreaterThanOrEqual(2);
    expect(as.reuses()).toBe(0);
    const stored = await store.connections.get('acme', 'c1');
    expect(stored?.accessExpiresAt).toBeGreaterThan(Date.now() - 1_000);

    await gateway.close();
    gateway = undefined;
    const after = as.tokenRequests();
    // Refreshed tokens live 1 s (< margin), so a live sweep would redeem again within one interval.
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(as.tokenRequests()).toBe(after);
  });

  it('does not start without an authorization_code service', async () => {
    as = await startFakeRefreshServer({ expiresIn: 1 });
    gateway = await startWithConnection(as, { grant: 'client_credentials' });
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(as.tokenRequests()).toBe(0);
  });
});

describe('refresh settings (refreshMarginSeconds, Redis lease)', () => {
  it('refreshMarginSeconds widens the margin: a token with 90 s left is refreshed at 120 s, not at the default 60 s', async () => {
    as = await startFakeRefreshServer();
    gateway = await startWithConnection(as, { expiresInMs: 90_000 });
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(as.tokenRequests()).toBe(0);
    await gateway.close();

    gateway = await startWithConnection(as, { expiresInMs: 90_000, refreshMarginSeconds: 120 });
    const store = gateway.adapters.store;
    await until(async () => ((await store.connections.get('acme', 'c1'))?.tokenVersion ?? 0) >= 2);
    expect(as.tokenRequests()).toBe(1);
  });

  it.skipIf(redisUrl === undefined)('RF-10 with redis configured, refreshes take the Redis lease', async () => {
    as = await startFakeRefreshServer({ delayMs: 400 });
    const prefix = 'gatehouse:refresh:';
    const key = `${prefix}${JSON.stringify(['acme', 'c1'])}`;
    const probe = new Redis(redisUrl as string, { lazyConnect: true, maxRetriesPerRequest: 1 });
    await probe.connect();
    try {
      await probe.del(key);
      gateway = await startWithConnection(as, { redis: redisUrl as string });
      expect(gateway.adapters.refreshLock).toBeDefined();
      // The token request takes 400 ms; the lease is held across it.
      await until(async () => (await probe.get(key)) !== null, 3_000);
      const store = gateway.adapters.store;
      await until(async () => ((await store.connections.get('acme', 'c1'))?.tokenVersion ?? 0) >= 2, 3_000);
      // Released by compare-and-delete after the commit.
      await until(async () => (await probe.get(key)) === null, 1_000);
      expect(as.tokenRequests()).toBe(1);
    } finally {
      probe.disconnect();
    }
  });
});
