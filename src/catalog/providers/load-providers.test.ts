import { mkdirSync, mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { GatehouseError } from '../../core/index.ts';
import { builtInCatalogRoot, loadProviders, parseProviderFile } from './load-providers.ts';

const minimal = `id: acme
name: Acme
categories: [crm]
docs: https://acme.example/docs
auth: { type: apiKey, in: header, name: X-Api-Key }
baseUrl: https://api.acme.example/v1
`;

const oauth = `id: zen
name: Zen
categories: [support]
docs: https://zen.example/docs
auth:
  type: oauth2
  authorizationUrl: https://{subdomain}.zen.example/oauth/authorize
  tokenUrl: https://{subdomain}.zen.example/oauth/token
  pkce: false
  scopes:
    - { name: read, description: Read tickets, access: read }
    - { name: write, description: Change tickets, access: write }
  defaultScopes: [read]
baseUrl: https://{subdomain}.zen.example/api/v2
variables:
  - { name: subdomain, description: Your subdomain, pattern: "^[a-z0-9-]+$" }
`;

function problemsOf(text: string, file = 'providers/zen.yaml') {
  const result = parseProviderFile(text, file);
  return 'problems' in result ? result.problems.map((p) => `${p.path}: ${p.message}`) : [];
}

describe('the built-in provider catalogue', () => {
  it('every file in catalog/providers passes the provider schema', () => {
    const files = readdirSync(join(builtInCatalogRoot, 'providers')).filter((f) => f.endsWith('.yaml'));
    expect(files.length).toBeGreaterThanOrEqual(3);
    const catalogue = loadProviders();
    expect(catalogue.providers.map((p) => `${p.id}.yaml`)).toEqual(files.sort());
    expect(loadProviders()).toBe(catalogue);
  });
});

describe('parseProviderFile()', () => {
  it('accepts a minimal API key provider and applies defaults', () => {
    const result = parseProviderFile(minimal, 'providers/acme.yaml');
    expect('provider' in result && result.provider.auth).toEqual({
      type: 'apiKey',
      in: 'header',
      name: 'X-Api-Key',
      label: 'API key',
    });
  });

  it('accepts an OAuth provider whose URLs use its declared variables', () => {
    expect(problemsOf(oauth)).toEqual([]);
    const result = parseProviderFile(oauth, 'providers/zen.yaml');
    expect('provider' in result && result.provider.auth.type === 'oauth2' && result.provider.auth.refresh).toEqual({
      rotates: false,
      expiresIn: 'always',
    });
  });

  it('names an unknown field with the closest known one', () => {
    expect(problemsOf(oauth.replace('pkce:', 'pcke:'))).toContain("auth: unknown field 'pcke' (did you mean 'pkce'?)");
  });

  it('refuses an id that is not the file name', () => {
    expect(problemsOf(oauth, 'providers/other.yaml')).toEqual(["id: expected 'other' (the file name)"]);
  });

  it('refuses a URL variable that is neither declared nor filled by a quirk', () => {
    expect(problemsOf(oauth.replace('/api/v2', '/{region}/api/v2'))).toEqual([
      'baseUrl: uses {region}, which is neither in variables nor filled by a quirk',
    ]);
  });

  it('accepts a variable filled by a quirk and refuses declaring it too', () => {
    const atlassian = oauth
      .replace('https://{subdomain}.zen.example/api/v2', 'https://api.atlassian.com/ex/jira/{cloudId}')
      .replace('defaultScopes: [read]', 'defaultScopes: [read]\n  quirks: [atlassian-cloud-id]');
    expect(problemsOf(atlassian)).toEqual([]);
    expect(problemsOf(`${atlassian}  - { name: cloudId, description: Cloud id }\n`)).toEqual([
      "variables[1].name: 'cloudId' is filled by a quirk for each connection; do not declare it",
    ]);
  });

  it('refuses default scopes and implied scopes that are not in the scope list', () => {
    expect(problemsOf(oauth.replace('defaultScopes: [read]', 'defaultScopes: [admin]'))).toEqual([
      "auth.defaultScopes[0]: 'admin' is not in auth.scopes",
    ]);
    expect(
      problemsOf(oauth.replace('defaultScopes: [read]', 'defaultScopes: [read]\n  scopeImplies: { write: [delete] }')),
    ).toEqual(["auth.scopeImplies.write[0]: 'delete' is not in auth.scopes"]);
    expect(
      problemsOf(oauth.replace('defaultScopes: [read]', 'defaultScopes: [read]\n  refreshScope: offline')),
    ).toEqual(["auth.refreshScope: 'offline' is not in auth.scopes"]);
  });

  it('salesforce_refresh_token_dropped: the built-in providers name the scope that grants a refresh token', () => {
    const refreshScopeOf = (id: string) => {
      const auth = loadProviders().byId.get(id)?.auth;
      return auth?.type === 'oauth2' ? auth.refreshScope : undefined;
    };
    expect(refreshScopeOf('salesforce')).toBe('refresh_token');
    expect(refreshScopeOf('jira')).toBe('offline_access');
    expect(refreshScopeOf('outlook')).toBe('offline_access');
    expect(refreshScopeOf('twitter')).toBe('offline.access');
  });

  it('refuses an unknown category, quirk and access class, naming each path', () => {
    const bad = oauth
      .replace('[support]', '[helpdesk]')
      .replace('access: write', 'access: admin')
      .replace('defaultScopes: [read]', 'defaultScopes: [read]\n  quirks: [magic]');
    expect(problemsOf(bad).map((p) => p.split(':')[0])).toEqual([
      'categories[0]',
      'auth.scopes[1].access',
      'auth.quirks[0]',
    ]);
  });

  it('refuses plain http URLs and a pack that does not exist', () => {
    expect(problemsOf(oauth.replace('https://{subdomain}.zen.example/oauth/token', 'http://zen.example/t'))).toEqual([
      'auth.tokenUrl: expected an https URL (it may hold {variables}, e.g. https://{subdomain}.zendesk.com/api/v2)',
    ]);
    expect(problemsOf(`${oauth}description: { pack: no-such-pack }\n`)).toEqual([
      'description.pack: no pack file catalog/packs/no-such-pack.openapi.yaml',
    ]);
  });

  it('refuses duplicate YAML keys', () => {
    expect(problemsOf(`${minimal}name: Again\n`, 'providers/acme.yaml')[0]).toMatch(/^: invalid YAML/);
  });
});

describe('loadProviders()', () => {
  it('throws config_invalid naming the file and field path of the first problem, listing all', () => {
    const root = mkdtempSync(join(tmpdir(), 'providers-'));
    mkdirSync(join(root, 'providers'));
    writeFileSync(join(root, 'providers', 'acme.yaml'), minimal.replace('[crm]', '[cmr]'));
    writeFileSync(join(root, 'providers', 'zen.yaml'), oauth.replace('pkce: false', ''));
    try {
      loadProviders(root);
      expect.unreachable();
    } catch (error) {
      expect(error).toBeInstanceOf(GatehouseError);
      expect((error as GatehouseError).code).toBe('config_invalid');
      expect((error as GatehouseError).details).toEqual({ file: 'catalog/providers/acme.yaml', path: 'categories[0]' });
      expect((error as GatehouseError).message).toContain('catalog/providers/zen.yaml: auth.pkce:');
    }
  });
});
