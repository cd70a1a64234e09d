import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../core/index.ts';
import { buildTenant } from './build-tenants.ts';
import { loadService } from './load-service.ts';

const fakeApi = fileURLToPath(new URL('../../test/fixtures/fake-api.openapi.yaml', import.meta.url));
/** A description whose operation declares a response schema (an output schema). */
const twitchUsers = fileURLToPath(new URL('../../test/fixtures/twitch-users.openapi.yaml', import.meta.url));

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

describe('buildTenant() compiles a toolset once for every tenant that configures it alike (S8 start-up)', () => {
  const build = (tenants: ReturnType<typeof tenantsSharing>) =>
    tenants.map((tenant, i) => buildTenant(tenant, i, (service) => loadService(service)).toolsets.get('agent')!);

  it('S8 finding: equal toolsets over one description share one policy and one listing', () => {
    const [a, b] = build(tenantsSharing(2));
    expect(a!.policy).toBe(b!.policy);
    expect(a!.meta).toBe(b!.meta);
    // The tenant's own parts stay its own.
    expect(a!.limits).not.toBe(b!.limits);
  });

  it('a toolset or service setting that changes the policy or listing gives a tenant its own', () => {
    const tenants = (edit: (tenant: Record<string, unknown>, i: number) => void, openapi = fakeApi) =>
      parseConfig(
        {
          tenants: Array.from({ length: 2 }, (_, i) => {
            const tenant = {
              id: `t${i}`,
              services: [{ id: 'api', openapi, baseUrl: 'https://api.example.com/' }],
              toolsets: [{ id: 'agent', tools: ['api_*'], access: 'read' }],
            };
            edit(tenant, i);
            return tenant;
          }),
        },
        { env: {} },
      ).tenants;
    const readAndWrite = build(
      tenants((tenant, i) => {
        if (i === 1) (tenant.toolsets as { access: string }[])[0]!.access = 'write';
      }),
    );
    expect(readAndWrite[0]!.policy).not.toBe(readAndWrite[1]!.policy);
    expect(readAndWrite[1]!.policy.tools.size).toBeGreaterThan(readAndWrite[0]!.policy.tools.size);

    const oneWithoutStructuredOutput = build(
      tenants((tenant, i) => {
        if (i === 1) (tenant.services as { structuredOutput?: boolean }[])[0]!.structuredOutput = false;
      }, twitchUsers),
    );
    expect(oneWithoutStructuredOutput[0]!.meta).not.toBe(oneWithoutStructuredOutput[1]!.meta);
    expect(
      [...oneWithoutStructuredOutput[0]!.meta.allByName.values()].some((tool) => tool.outputSchema !== undefined),
    ).toBe(true);
    expect(
      [...oneWithoutStructuredOutput[1]!.meta.allByName.values()].every((tool) => tool.outputSchema === undefined),
    ).toBe(true);
  });
});
