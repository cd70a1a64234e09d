import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../core/index.ts';
import { buildTenant } from './build-tenants.ts';
import { loadService } from './load-service.ts';

const fakeApi = fileURLToPath(new URL('../../test/fixtures/fake-api.openapi.yaml', import.meta.url));

function tenantsSharing(count: number) {
  return parseConfig(
    {
      tenants: Array.from({ length: count }, (_, i) => ({
        id: `t${i}`,
        services: [{ id: 'api', openapi: fakeApi, baseUrl: 'https://api.example.com/' }],
        toolsets: [{ id: 'agent', tools: ['api_*'], access: 'read' }],
      })),
    },
    { env: {} },
  ).tenants;
}

describe('buildTenant() heap per tenant (S8, issue 13)', () => {
  it('S8 finding: tenants with one service share its tools-by-name map instead of each copying it', () => {
    const [a, b] = tenantsSharing(2).map((tenant, i) => buildTenant(tenant, i, (service) => loadService(service)));
    const policyA = a!.toolsets.get('agent')!.policy;
    const policyB = b!.toolsets.get('agent')!.policy;
    expect(policyA.tenantTools.size).toBeGreaterThan(0);
    expect(policyA.tenantTools).toBe(policyB.tenantTools);
    expect([...policyA.tenantTools.keys()]).toEqual([...a!.services.get('api')!.catalog.tools].map((t) => t.name));
  });
});
