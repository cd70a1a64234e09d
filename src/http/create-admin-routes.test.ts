import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Clock } from '../core/index.ts';
import { createFakeGateway } from '../mcp/_fake-gateway.ts';
import { createMemoryLimiter } from '../policy/index.ts';
import { type AdminDenial, adminRoleSets, createAdminRoutes } from './create-admin-routes.ts';
import { createHttpApp } from './create-http-app.ts';
import { type RunningHttpServer, startHttpServer } from './start-http-server.ts';

/**
 * Finding admin_token_guessing (breaker, issue 14): the admin API took any number of wrong bearer tokens from one
 * address, so the sign-in form's budget did not stop anyone guessing the admin token through `/api/v1`.
 */
const adminToken = 'admin-token-0123456789abcdef';
let now = 1_000_000;
const clock: Clock = { now: () => now, monotonic: () => now };
const denials: AdminDenial[] = [];
let server: RunningHttpServer;

beforeAll(async () => {
  const app = createHttpApp({
    gateway: createFakeGateway(),
    publicUrl: 'http://127.0.0.1',
    routes: createAdminRoutes({
      adminToken,
      routes: [
        {
          method: 'GET',
          path: '/ping',
          summary: 'ping',
          roles: adminRoleSets.anyRole,
          handle: () => ({ body: 'pong' }),
        },
      ],
      failedTokens: { limiter: createMemoryLimiter(clock), perMinute: 5, now: () => clock.now() },
      onDenied: (denial) => denials.push(denial),
    }),
  });
  server = await startHttpServer(app, { host: '127.0.0.1', port: 0 });
});
afterAll(() => server?.close());

const ping = (token: string) => fetch(`${server.url}/api/v1/ping`, { headers: { authorization: `Bearer ${token}` } });

describe('wrong bearer tokens on the admin API', () => {
  it('admin_token_guessing: an address that sent too many wrong tokens is refused, the right token too, until its wait is over', async () => {
    for (let i = 0; i < 5; i++) expect((await ping(`guess-${i}-0123456789`)).status).toBe(401);
    const refused = await ping('guess-5-0123456789');
    expect(refused.status).toBe(429);
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    const body = (await refused.json()) as { code: string; detail: string };
    expect(body.code).toBe('rate_limited');
    expect(body.detail).toContain('wrong tokens');
    // No oracle while refused: the right token gets the same answer as a wrong one.
    expect((await ping(adminToken)).status).toBe(429);
    expect(denials.at(-1)?.reason).toBe('too_many_wrong_tokens');
    now += 61_000;
    expect((await ping(adminToken)).status).toBe(200);
  });

  it('right tokens are never counted: an operator calling often is not refused', async () => {
    now += 120_000;
    for (let i = 0; i < 20; i++) expect((await ping(adminToken)).status).toBe(200);
  });
});
