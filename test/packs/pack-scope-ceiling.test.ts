import { describe, expect, it } from 'vitest';
import { createProviderExpander, loadProviders } from '../../src/catalog/index.ts';
import { parseConfig } from '../../src/core/index.ts';
import { inspectConfig } from '../../src/gateway/index.ts';

const expandProvider = createProviderExpander();
const oauthPacks = loadProviders().providers.filter(
  (provider) => provider.auth.type === 'oauth2' && provider.description?.pack !== undefined,
);

function reportOf(service: Record<string, unknown>) {
  const config = parseConfig(
    {
      tenants: [{ id: 't', services: [service], toolsets: [{ id: 'all', tools: ['*'], access: 'write' }] }],
    },
    { env: {}, baseDir: process.cwd(), expandProvider },
  );
  return { config, report: inspectConfig(config)[0] };
}

/** Values the connection-discovered variables must have the form of (their config patterns). */
const sampleValues: Readonly<Record<string, string>> = {
  cloudId: '11111111-2222-3333-4444-555555555555',
  instanceUrl: 'https://acme.my.salesforce.com',
};

/** Placeholder values for a provider's per-connection variables (their examples). */
function variablesOf(provider: (typeof oauthPacks)[number]): Record<string, string> {
  const declared = provider.variables
    .filter((v) => v.default === undefined)
    .map((v) => [v.name, sampleValues[v.name] ?? String(v.example ?? 'acme')] as const);
  // Filled per connection once connected (Atlassian cloud id, Salesforce instance): given by the config until then.
  const filled = Object.entries(sampleValues).filter(([name]) => provider.baseUrl.includes(`{${name}}`));
  return Object.fromEntries([...declared, ...filled]);
}

describe("a provider's scopes are the ceiling of its connect links", () => {
  it('there are OAuth providers with packs to check', () => {
    expect(oauthPacks.length).toBeGreaterThan(10);
  });

  for (const provider of oauthPacks) {
    it(`${provider.id}: without scopes in the config, every pack tool is listed (the pack's scopes join the defaults)`, () => {
      const { report, config } = reportOf({
        provider: provider.id,
        clientId: 'client',
        clientSecret: 'client-secret-value',
        variables: variablesOf(provider),
      });
      expect(report?.problems.filter((p) => p.includes('hidden'))).toEqual([]);
      const auth = config.tenants[0]?.services[0]?.auth;
      expect(
        auth?.type === 'oauth2' &&
          auth.scopes.slice(0, provider.auth.type === 'oauth2' ? provider.auth.defaultScopes.length : 0),
      ).toEqual(provider.auth.type === 'oauth2' ? provider.auth.defaultScopes : []);
    });
  }

  it('scopes named in the config are the ceiling: tools needing others are hidden and check names them', () => {
    const { report, config } = reportOf({
      provider: 'slack',
      clientId: 'client',
      clientSecret: 'client-secret-value',
      scopes: ['channels:read', 'channels:history'],
    });
    const auth = config.tenants[0]?.services[0]?.auth;
    expect(auth?.type === 'oauth2' && auth.scopes).toEqual(['channels:read', 'channels:history']);
    const names = report?.tools.map((tool) => tool.name) ?? [];
    expect(names).toContain('slack_list_channels');
    expect(names).not.toContain('slack_post_message');
    const [hidden] = report?.problems.filter((p) => p.includes('hidden')) ?? [];
    expect(hidden).toContain('slack_post_message (needs chat:write)');
  });
});
