import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createFakeGateway } from '../mcp/_fake-gateway.ts';
import type { UsageRow } from '../store/index.ts';
import { createAdminRoutes } from './create-admin-routes.ts';
import { createHttpApp } from './create-http-app.ts';
import { createMetricsRoute } from './create-metrics-route.ts';
import { createUsageAdminRoutes } from './create-usage-admin-routes.ts';
import { type RunningHttpServer, startHttpServer } from './start-http-server.ts';

const adminToken = 'admin-token-0123456789abcdef';
const metricsToken = 'metrics-token-0123456789abcdef';
const rows: UsageRow[] = [
  { tenantId: 'acme', day: '2025-03-01', toolset: 's', tool: 'pets_list', calls: 5, errors: 1, denials: 2 },
  { tenantId: 'acme', day: '2025-03-02', toolset: 's', tool: 'pets_list', calls: 3, errors: 0, denials: 0 },
];
let server: RunningHttpServer;
const queried: string[][] = [];

beforeAll(async () => {
  const usage = createUsageAdminRoutes({
    hasTenant: (t) => t === 'acme',
    readUsage: async (tenant, from, to) => {
      queried.push([tenant, from, to]);
      return rows.filter((r) => r.day >= from && r.day <= to);
    },
    today: () => '2025-03-02',
  });
  const app = createHttpApp({
    gateway: createFakeGateway(),
    publicUrl: 'http://127.0.0.1',
    routes: [
      ...createAdminRoutes({ adminToken, routes: usage }),
      createMetricsRoute({ render: () => '# TYPE x_total counter\nx_total 1\n', tokens: [adminToken, metricsToken] }),
    ],
  });
  server = await startHttpServer(app, { host: '127.0.0.1', port: 0 });
});
afterAll(() => server?.close());

const get = (path: string, token?: string) =>
  fetch(`${server.url}${path}`, token ? { headers: { authorization: `Bearer ${token}` } } : {});

describe('GET /metrics', () => {
  it('MC-09 answers 401 without a token or with a wrong one', async () => {
    for (const token of [undefined, 'wrong-token', `${metricsToken}x`]) {
      const response = await get('/metrics', token);
      expect(response.status).toBe(401);
      expect(((await response.json()) as { code: string }).code).toBe('unauthenticated');
    }
  });

  it('serves the Prometheus text format to the metrics token and to the admin token', async () => {
    for (const token of [metricsToken, adminToken]) {
      const response = await get('/metrics', token);
      expect(response.status).toBe(200);
      expect(response.headers.get('content-type')).toBe('text/plain; version=0.0.4; charset=utf-8');
      expect(await response.text()).toBe('# TYPE x_total counter\nx_total 1\n');
    }
  });

  it('answers 401 to everything when no token is configured', async () => {
    const route = createMetricsRoute({ render: () => 'x', tokens: [undefined, ''] });
    const app = createHttpApp({ gateway: createFakeGateway(), publicUrl: 'http://127.0.0.1', routes: [route] });
    const open = await startHttpServer(app, { host: '127.0.0.1', port: 0 });
    try {
      expect((await fetch(`${open.url}/metrics`, { headers: { authorization: 'Bearer ' } })).status).toBe(401);
    } finally {
      await open.close();
    }
  });
});

describe('GET /api/v1/tenants/:tenant/usage', () => {
  it('returns daily rows and totals for a window, defaulting to the last 30 days', async () => {
    const response = await get('/api/v1/tenants/acme/usage?from=2025-03-01&to=2025-03-01', adminToken);
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({
      tenant: 'acme',
      from: '2025-03-01',
      to: '2025-03-01',
      totals: { calls: 5, errors: 1, denials: 2 },
      days: [{ day: '2025-03-01', toolset: 's', tool: 'pets_list', calls: 5, errors: 1, denials: 2 }],
    });
    await get('/api/v1/tenants/acme/usage', adminToken);
    expect(queried.at(-1)).toEqual(['acme', '2025-02-01', '2025-03-02']);
  });

  it('MC-09 / MT-01: 401 without the admin token, 404 for an unknown tenant, 400 for bad dates', async () => {
    expect((await get('/api/v1/tenants/acme/usage')).status).toBe(401);
    expect((await get('/api/v1/tenants/other/usage', adminToken)).status).toBe(404);
    for (const query of [
      'from=2025-3-1',
      'to=yesterday',
      'from=2025-03-02&to=2025-03-01',
      'from=2020-01-01&to=2025-01-01',
    ]) {
      const response = await get(`/api/v1/tenants/acme/usage?${query}`, adminToken);
      expect(response.status, query).toBe(400);
      expect(((await response.json()) as { code: string }).code).toBe('invalid_request');
    }
  });
});
