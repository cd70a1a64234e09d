import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { type GatehouseError, parseConfig } from '../../core/index.ts';
import { createProviderExpander } from './expand-provider-service.ts';
import { writeProviderRoot } from './write-provider-root.ts';

const root = writeProviderRoot(
  `id: zen
name: Zen
categories: [support]
docs: https://zen.example/docs
auth:
  type: oauth2
  authorizationUrl: https://{subdomain}.zen.example/oauth/authorize
  tokenUrl: https://{subdomain}.zen.example/oauth/token
  pkce: false
  tokenEndpointAuthMethod: client_secret_basic
  scopeSeparator: ","
  scopes:
    - { name: "tickets:read", description: Read tickets, access: read }
    - { name: "tickets:write", description: Change tickets, access: write }
  defaultScopes: ["tickets:read"]
  scopeImplies: { "tickets:write": ["tickets:read"] }
  authorizeParams: { prompt: consent }
baseUrl: https://{subdomain}.zen.example/api/v2
variables:
  - { name: subdomain, description: Your Zen subdomain, pattern: "^[a-z0-9-]+$", example: acme }
  - { name: region, description: Data region, default: eu }
description: { pack: zen, licence: own-words }
`,
);
writeFileSync(
  join(root, 'providers', 'keyed.yaml'),
  `id: keyed
name: Keyed
categories: [other]
docs: https://keyed.example/docs
auth: { type: apiKey, in: header, name: Authorization, prefix: "Token token=" }
baseUrl: https://api.keyed.example
description: { url: https://keyed.example/openapi.json }
`,
);

writeFileSync(
  join(root, 'providers', 'atl.yaml'),
  `id: atl
name: Atl
categories: [project-management]
docs: https://atl.example/docs
auth:
  type: oauth2
  authorizationUrl: https://auth.atl.example/authorize
  tokenUrl: https://auth.atl.example/oauth/token
  pkce: true
  scopes: [{ name: "read:jira-work", description: Read issues, access: read }]
  defaultScopes: ["read:jira-work"]
  authorizeParams: { audience: api.atlassian.com }
  quirks: [atlassian-cloud-id]
baseUrl: https://api.atlassian.com/ex/jira/{cloudId}/rest/api/3
description: { pack: zen }
`,
);

const expandProvider = createProviderExpander(root);

function parse(service: Record<string, unknown>) {
  return parseConfig({ tenants: [{ id: 'acme', services: [service] }] }, { expandProvider });
}

function failure(service: Record<string, unknown>): { code: string; lines: string[]; path: unknown } {
  try {
    parse(service);
  } catch (error) {
    const e = error as GatehouseError;
    return {
      code: e.code,
      lines: e.message
        .split('\n')
        .slice(1)
        .map((l) => l.trim()),
      path: e.details['path'],
    };
  }
  throw new Error('expected a failure');
}

const secret = 'zen-client-secret-0123456789';

describe('a service naming a provider', () => {
  it('becomes a full service: pack, base URL and OAuth endpoints with the variables, provider auth settings', () => {
    const service = parse({
      provider: 'zen',
      clientId: 'client',
      clientSecret: secret,
      variables: { subdomain: 'acme' },
    }).tenants[0]?.services[0];
    expect(service).toMatchObject({
      id: 'zen',
      provider: 'zen',
      openapi: join(root, 'packs', 'zen.openapi.yaml'),
      baseUrl: 'https://acme.zen.example/api/v2',
      scopeImplies: { 'tickets:write': ['tickets:read'] },
      auth: {
        type: 'oauth2',
        authorizationUrl: 'https://acme.zen.example/oauth/authorize',
        tokenUrl: 'https://acme.zen.example/oauth/token',
        clientId: 'client',
        clientSecret: secret,
        scopes: ['tickets:read'],
        authorizeParams: { prompt: 'consent' },
        tokenEndpointAuthMethod: 'client_secret_basic',
        scopeSeparator: ',',
        pkce: false,
        quirks: [],
      },
    });
  });

  it('salesforce_refresh_token_dropped: the service carries the provider refresh scope', () => {
    const config = parseConfig(
      { tenants: [{ id: 'acme', services: [{ provider: 'salesforce', clientId: 'client' }] }] },
      { expandProvider: createProviderExpander() },
    );
    const service = config.tenants[0]?.services[0];
    expect(service?.auth).toMatchObject({ type: 'oauth2', refreshScope: 'refresh_token' });
    expect(service?.auth.type === 'oauth2' && service.auth.scopes).toContain('refresh_token');
  });

  it('takes every override: id, scopes, base URL, description, auth fields (authorizeParams merged)', () => {
    const service = parse({
      provider: 'zen',
      id: 'helpdesk',
      clientId: 'client',
      clientSecret: secret,
      scopes: ['tickets:write'],
      variables: { subdomain: 'acme', region: 'us' },
      baseUrl: 'https://proxy.example/zen',
      openapi: '/tmp/own.yaml',
      auth: { authorizeParams: { login_hint: 'x' }, pkce: true },
      timeoutSeconds: 5,
    }).tenants[0]?.services[0];
    expect(service).toMatchObject({
      id: 'helpdesk',
      baseUrl: 'https://proxy.example/zen',
      openapi: '/tmp/own.yaml',
      timeoutSeconds: 5,
      auth: { scopes: ['tickets:write'], authorizeParams: { prompt: 'consent', login_hint: 'x' }, pkce: true },
    });
  });

  it('marks scopes the operator did not list (scopesFromCatalogue), whether from scopes: or auth.scopes', () => {
    const base = { provider: 'zen', clientId: 'client', clientSecret: secret, variables: { subdomain: 'acme' } };
    expect(parse(base).tenants[0]?.services[0]?.scopesFromCatalogue).toBe(true);
    // The endpoints overridden, the scopes still the catalogue's.
    const endpoints = { auth: { tokenUrl: 'https://proxy.example/token' } };
    expect(parse({ ...base, ...endpoints }).tenants[0]?.services[0]?.scopesFromCatalogue).toBe(true);
    expect(parse({ ...base, scopes: ['tickets:read'] }).tenants[0]?.services[0]?.scopesFromCatalogue).toBeUndefined();
    const inAuth = parse({ ...base, auth: { scopes: ['tickets:write'] } }).tenants[0]?.services[0];
    expect(inAuth?.scopesFromCatalogue).toBeUndefined();
    expect(inAuth?.auth).toMatchObject({ scopes: ['tickets:write'] });
    // Not OAuth: nothing to mark.
    const keyed = parse({ provider: 'keyed', apiKey: 'key-0123456789abcdef', openapi: '/tmp/keyed.yaml' });
    expect(keyed.tenants[0]?.services[0]?.scopesFromCatalogue).toBeUndefined();
  });

  it('the marker is set by the catalogue only: a config writing it is refused, naming the field', () => {
    const provided = failure({
      provider: 'zen',
      clientId: 'client',
      variables: { subdomain: 'acme' },
      scopesFromCatalogue: true,
    });
    expect(provided.path).toBe('tenants[0].services[0].scopesFromCatalogue');
    expect(provided.lines[0]).toContain('list the scopes in scopes');
    const own = failure({
      id: 'own',
      openapi: '/tmp/own.yaml',
      auth: { type: 'oauth2', clientId: 'c', authorizationUrl: 'https://a.example/a', tokenUrl: 'https://a.example/t' },
      scopesFromCatalogue: true,
    });
    expect(own.path).toBe('tenants[0].services[0].scopesFromCatalogue');
    expect(own.lines[0]).toContain('auth.scopes');
  });

  it('an unknown provider exits 2 (config_invalid) naming the field with a did-you-mean', () => {
    const result = failure({ provider: 'zne', clientId: 'client' });
    expect(result.code).toBe('config_invalid');
    expect(result.path).toBe('tenants[0].services[0].provider');
    expect(result.lines[0]).toContain("unknown provider 'zne' (did you mean 'zen'?)");
  });

  it('an unknown scope names its index, the closest scope and every valid one', () => {
    const result = failure({
      provider: 'zen',
      clientId: 'client',
      variables: { subdomain: 'acme' },
      scopes: ['tickets:read', 'ticket:write'],
    });
    expect(result.path).toBe('tenants[0].services[0].scopes[1]');
    expect(result.lines[0]).toContain("did you mean 'tickets:write'?");
    expect(result.lines[0]).toContain('valid: tickets:read, tickets:write');
  });

  it('a missing per-connection variable names it with its description, example and the variables needed', () => {
    const result = failure({ provider: 'zen', clientId: 'client' });
    expect(result.path).toBe('tenants[0].services[0].variables.subdomain');
    expect(result.lines).toEqual([
      'tenants[0].services[0].variables.subdomain: missing: Your Zen subdomain (e.g. acme); Zen needs subdomain, region',
    ]);
  });

  it('refuses a variable value that could change the URL host, and an unknown variable', () => {
    expect(failure({ provider: 'zen', clientId: 'c', variables: { subdomain: 'evil.example/x?' } }).lines[0]).toContain(
      'variables.subdomain: expected a value matching',
    );
    expect(failure({ provider: 'zen', clientId: 'c', variables: { subdomain: 'a', regoin: 'x' } }).lines[0]).toContain(
      "unknown variable 'regoin' (did you mean 'region'?)",
    );
    // No pattern of its own: only URL-safe characters.
    expect(
      failure({ provider: 'zen', clientId: 'c', variables: { subdomain: 'a', region: 'x/../y' } }).lines[0],
    ).toContain('variables.region: expected a value matching');
  });

  it('names a missing client id, fields of another auth type, and unknown fields with a did-you-mean', () => {
    expect(failure({ provider: 'zen', variables: { subdomain: 'a' } }).lines).toEqual([
      'tenants[0].services[0].clientId: missing: the OAuth client id of your app for Zen',
    ]);
    expect(failure({ provider: 'zen', clientId: 'c', apiKey: 'k', variables: { subdomain: 'a' } }).lines[0]).toContain(
      'apiKey: not used by Zen (auth type oauth2); expected clientId, clientSecret, scopes',
    );
    expect(
      failure({ provider: 'zen', clientId: 'c', clientSecrte: 'x', variables: { subdomain: 'a' } }).lines[0],
    ).toContain("unknown field 'clientSecrte' (did you mean 'clientSecret'?)");
  });

  it('an API key provider takes apiKey; the prefix is kept apart from the secret', () => {
    const service = parse({
      provider: 'keyed',
      apiKey: 'keyed-api-key-0123456789',
      openapi: '/tmp/keyed.json',
    }).tenants[0]?.services[0];
    expect(service?.auth).toEqual({
      type: 'apiKey',
      in: 'header',
      name: 'Authorization',
      value: 'keyed-api-key-0123456789',
      prefix: 'Token token=',
    });
  });

  it('a provider without a pack asks for the downloaded description, naming its URL', () => {
    expect(failure({ provider: 'keyed', apiKey: 'keyed-api-key-0123456789' }).lines).toEqual([
      'tenants[0].services[0].openapi: Keyed has no tool pack in the catalogue; download its description from https://keyed.example/openapi.json and set openapi: (or swagger:) to the file',
    ]);
  });

  it('a variable a quirk finds per connection may pin one site; left out, it stays for each connection to fill', () => {
    const cloudId = '11111111-2222-3333-4444-555555555555';
    const service = parse({ provider: 'atl', clientId: 'c', variables: { cloudId } }).tenants[0]?.services[0];
    expect(service?.baseUrl).toBe(`https://api.atlassian.com/ex/jira/${cloudId}/rest/api/3`);
    // Pinned: no discovery after connecting (no accessible-resources call, no site chooser).
    expect(service?.auth).toMatchObject({ authorizeParams: { audience: 'api.atlassian.com' }, quirks: [] });
    expect(parse({ provider: 'atl', clientId: 'c' }).tenants[0]?.services[0]?.auth).toMatchObject({
      quirks: ['atlassian-cloud-id'],
    });
    // Issue 11: `provider: jira` alone is valid; each connection discovers its site after connecting.
    expect(parse({ provider: 'atl', clientId: 'c' }).tenants[0]?.services[0]?.baseUrl).toBe(
      'https://api.atlassian.com/ex/jira/{cloudId}/rest/api/3',
    );
    expect(failure({ provider: 'atl', clientId: 'c', variables: { cloudId: 'x/../../evil' } }).path).toBe(
      'tenants[0].services[0].variables.cloudId',
    );
  });

  it('without a catalogue a provider service is config_invalid', () => {
    try {
      parseConfig({ tenants: [{ id: 'acme', services: [{ provider: 'zen' }] }] });
      expect.unreachable();
    } catch (error) {
      expect((error as GatehouseError).code).toBe('config_invalid');
    }
  });
});
