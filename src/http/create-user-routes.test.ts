import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, expect, it } from 'vitest';
import type { GatewayUsers } from '../gateway/index.ts';
import { createUserRoutes } from './create-user-routes.ts';

/** Serves the sign-in page's GET route alone on 127.0.0.1 and returns its HTML for `path`. */
async function signInPageHtml(appName: string, path: string): Promise<string> {
  const users = {
    signInOptions: (tenant: string) => ({ tenant, local: true }),
    reportRejected: () => undefined,
  } as unknown as GatewayUsers;
  const routes = createUserRoutes({
    users,
    consents: {
      consentsOf: async () => [],
      revokeConsent: async () => undefined,
      appAsking: async () => ({ name: appName, verified: false }),
    },
  });
  const route = routes.find((r) => r.method === 'GET' && r.path === '/signin/:tenant');
  if (route === undefined) throw new Error('no sign-in route');
  const server = createServer((req, res) => {
    void route.handle({
      req,
      res,
      params: { tenant: 'acme' },
      requestId: 'r1',
      clientAddress: '127.0.0.1',
      readBody: async () => Buffer.alloc(0),
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  try {
    const { port } = server.address() as AddressInfo;
    return await (await fetch(`http://127.0.0.1:${port}${path}`)).text();
  } finally {
    server.close();
  }
}

describe('the sign-in page', () => {
  it('review finding (sign-in twin of breaker finding 1): bidi in the asking app name is marked, not rendered', async () => {
    const html = await signInPageHtml(
      'Good app \u202E(deifirev)',
      `/signin/acme?return=${encodeURIComponent('/oauth/acme/interaction/uid-1')}`,
    );
    // The override cannot reach the page: it is shown as a visible mark, so the warning after it reads as written.
    expect(html).toContain('asks to connect');
    expect(html).not.toContain('\u202E');
    expect(html).toContain('<mark class="ctl">U+202E</mark>');
  });
});
