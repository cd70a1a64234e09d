import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConfigFile, parseConfig } from './config.ts';
import { GatehouseError } from './errors.ts';

function expectConfigError(fn: () => unknown): GatehouseError {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(GatehouseError);
    expect((error as GatehouseError).code).toBe('config_invalid');
    return error as GatehouseError;
  }
  throw new Error('expected a config error');
}

const minimal = {
  tenants: [
    {
      id: 'acme',
      services: [{ id: 'pets', openapi: './pets.yaml', baseUrl: 'http://127.0.0.1:9000' }],
      toolsets: [{ id: 'support', tools: ['pets_*'] }],
      clientKeys: [{ name: 'agent', key: 'gatehouse_sk_0123456789abcdefghijkl', toolsets: ['support'] }],
    },
  ],
};

describe('parseConfig', () => {
  it('fills safe defaults and freezes the result', () => {
    const config = parseConfig(minimal, { env: {}, baseDir: '/etc/gh' });
    expect(config.listen).toBe('127.0.0.1:8787');
    expect(config.mode).toBe('development');
    expect(config.publicUrl).toBe('http://127.0.0.1:8787');
    expect(config.tenants[0]?.toolsets[0]?.access).toBe('read');
    expect(config.tenants[0]?.services[0]?.openapi).toBe('/etc/gh/pets.yaml');
    expect(config.store).toBe('sqlite:/etc/gh/.gatehouse/gatehouse.db');
    expect(Object.isFrozen(config.tenants[0]?.services[0])).toBe(true);
  });

  it('takes a remote MCP server as a service, and refuses a second source, a non-HTTP URL, a stray TTL and a baseUrl', () => {
    const withService = (service: Record<string, unknown>) => ({
      tenants: [{ ...minimal.tenants[0], services: [service] }],
    });
    const config = parseConfig(withService({ id: 'linear', mcp: 'https://mcp.example.com/mcp', toolsTtlSeconds: 60 }), {
      env: {},
    });
    expect(config.tenants[0]?.services[0]?.mcp).toBe('https://mcp.example.com/mcp');
    expect(config.tenants[0]?.toolsets[0]?.unprefixed).toEqual([]);
    expect(
      expectConfigError(() =>
        parseConfig(withService({ id: 'linear', mcp: 'https://mcp.example.com/mcp', openapi: './a.yaml' }), {
          env: {},
        }),
      ).message,
    ).toContain('exactly one description source');
    expect(
      expectConfigError(() => parseConfig(withService({ id: 'linear', mcp: 'ftp://mcp.example.com/mcp' }), { env: {} }))
        .details['path'],
    ).toBe('tenants[0].services[0].mcp');
    expect(
      expectConfigError(() =>
        parseConfig(withService({ id: 'pets', openapi: './a.yaml', toolsTtlSeconds: 60 }), { env: {} }),
      ).details['path'],
    ).toBe('tenants[0].services[0].toolsTtlSeconds');
    // mcp_service_base_url_elsewhere: listed at `mcp` but called at `baseUrl` (another server) before.
    const elsewhere = expectConfigError(() =>
      parseConfig(
        withService({ id: 'linear', mcp: 'https://mcp.example.com/mcp', baseUrl: 'https://other.example.com/mcp' }),
        { env: {} },
      ),
    );
    expect(elsewhere.details['path']).toBe('tenants[0].services[0].baseUrl');
    expect(elsewhere.message).toContain('an mcp service is called at its mcp URL');
  });

  it('names the exact field path of a wrong value', () => {
    const bad = structuredClone(minimal) as unknown as { tenants: { toolsets: { access: string }[] }[] };
    bad.tenants[0]!.toolsets[0]!.access = 'admin';
    const error = expectConfigError(() => parseConfig(bad, { env: {} }));
    expect(error.details['path']).toBe('tenants[0].toolsets[0].access');
  });

  it('rejects unknown keys instead of ignoring them', () => {
    const bad = structuredClone(minimal) as unknown as { tenants: { toolsets: Record<string, unknown>[] }[] };
    bad.tenants[0]!.toolsets[0]!['acess'] = 'write';
    const error = expectConfigError(() => parseConfig(bad, { env: {} }));
    expect(error.details['path']).toBe('tenants[0].toolsets[0]');
    expect(error.message).toContain("'acess'");
  });

  it.each([
    [['tenants', 0, 'toolsets', 0], 'acess', 'access'],
    [['tenants', 0, 'toolsets', 0], 'ratelimit', 'rateLimit'],
    [['tenants', 0, 'services', 0], 'baseURL', 'baseUrl'],
    [['tenants', 0], 'clientkeys', 'clientKeys'],
    [[], 'adminTokn', 'adminToken'],
  ])('suggests the field meant by a misspelt one at %j (%s)', (path, wrong, meant) => {
    const bad = structuredClone(minimal) as unknown as Record<string, unknown>;
    let node = bad as Record<string | number, unknown>;
    for (const part of path) node = node[part] as Record<string | number, unknown>;
    node[wrong] = 'x';
    const error = expectConfigError(() => parseConfig(bad, { env: {} }));
    expect(error.message).toContain(`'${wrong}' (did you mean '${meant}'?)`);
  });

  it('(issue 10 first-hour trial) refuses a port over 65535, and names the environment variable a bad value came from', () => {
    expect(expectConfigError(() => parseConfig({ listen: '127.0.0.1:99999' }, { env: {} })).details['path']).toBe(
      'listen',
    );
    const fromEnv = expectConfigError(() => parseConfig({}, { env: { GATEHOUSE_LISTEN: '28789' } }));
    expect(fromEnv.message).toContain('listen (from GATEHOUSE_LISTEN): expected host:port');
  });

  it.each(['${NOTES_API_KEY}', '$NOTES_API_KEY'])(
    '(issue 10 first-hour trial) refuses a secret written as a shell variable (%s) instead of sending it upstream',
    (value) => {
      const bad = structuredClone(minimal) as unknown as { tenants: { services: Record<string, unknown>[] }[] };
      bad.tenants[0]!.services[0]!['auth'] = { type: 'bearer', token: value };
      const error = expectConfigError(() => parseConfig(bad, { env: {} }));
      expect(error.details['path']).toBe('tenants[0].services[0].auth.token');
      expect(error.message).toContain('${env:NAME}');
    },
  );

  it.each([
    [['tenants', 0, 'toolsets', 0], 'resultBudget', 'results.budget'],
    [['tenants', 0, 'toolsets', 0], 'toolResultBudgets', 'results.toolBudgets'],
    [['tenants', 0, 'toolsets', 0], 'resultHandles', 'results.handles'],
    [['tenants', 0, 'toolsets', 0], 'autoPaginate', 'results.autoPaginate'],
    [['tenants', 0, 'toolsets', 0], 'cache', 'results.cache'],
    [['tenants', 0, 'toolsets', 0], 'scopes', 'policy.scopes'],
    [['tenants', 0, 'toolsets', 0], 'constraints', 'policy.constraints'],
    [['tenants', 0, 'toolsets', 0], 'safety', 'policy.safety'],
    [['tenants', 0, 'toolsets', 0], 'toolLimits', 'limits.toolRateLimits'],
    [['tenants', 0, 'toolsets', 0], 'concurrency', 'limits.concurrency'],
    [['tenants', 0, 'services', 0], 'timeoutMs', 'timeoutSeconds (in seconds)'],
    [['tenants', 0, 'services', 0], 'discovery', 'googleDiscovery'],
    [['approvals'], 'ttlMinutes', 'ttlSeconds (in seconds)'],
    [['alerts'], 'secret', 'webhookSecret'],
    [['shutdown'], 'drainTimeoutMs', 'drainTimeoutSeconds (in seconds)'],
  ])('(issue 14) refuses an old key at %j (%s), naming its new place', (path, old, place) => {
    const bad = structuredClone(minimal) as unknown as Record<string, unknown>;
    let node = bad as Record<string | number, unknown>;
    for (const part of path) {
      node[part] ??= {};
      node = node[part] as Record<string | number, unknown>;
    }
    node[old] = 1;
    const error = expectConfigError(() => parseConfig(bad, { env: {} }));
    expect(error.details['path']).toBe(
      path
        .map((p) => (typeof p === 'number' ? `[${p}]` : `.${p}`))
        .join('')
        .replace(/^\./, ''),
    );
    expect(error.message).toContain(`'${old}' moved to ${place}`);
  });

  it('(issue 14) reads the regrouped toolset keys and their defaults', () => {
    const config = parseConfig(
      {
        tenants: [
          {
            id: 'acme',
            toolsets: [
              {
                id: 'a',
                policy: { scopes: ['read'], safety: { 'x_*': 'safe' } },
                limits: { toolRateLimits: { 'x_*': { perMinute: 5 } }, concurrency: { perKey: 2 } },
                results: { budget: 900, toolBudgets: { x_big: 4_000 }, cache: { ttlSeconds: 60 } },
              },
              { id: 'b' },
            ],
          },
        ],
      },
      { env: {} },
    );
    const [a, b] = config.tenants[0]!.toolsets;
    expect(a?.policy.scopes).toEqual(['read']);
    expect(a?.limits.concurrency?.perKey).toBe(2);
    expect(a?.results).toMatchObject({
      budget: 900,
      handles: { enabled: true, ttlSeconds: 900 },
      cache: { ttlSeconds: 60 },
    });
    expect(b?.results.budget).toBe(8_000);
    expect(b?.policy).toEqual({ constraints: {}, safety: {} });
    expect(b?.limits).toEqual({ toolRateLimits: {} });
    expect(config.approvals.ttlSeconds).toBe(900);
    expect(config.shutdown).toEqual({ unreadyDelaySeconds: 0, drainTimeoutSeconds: 10 });
  });

  it('suggests nothing for a field unlike any known one, and looks into auth variants', () => {
    const bad = structuredClone(minimal) as unknown as { tenants: { services: Record<string, unknown>[] }[] };
    bad.tenants[0]!.services[0]!['colour'] = 'blue';
    bad.tenants[0]!.services[0]!['auth'] = {
      type: 'apiKey',
      in: 'header',
      name: 'X-Key',
      value: 'long-enough-key-1',
      nmae: 1,
    };
    const error = expectConfigError(() => parseConfig(bad, { env: {} }));
    expect(error.message).toContain("'colour'");
    expect(error.message).not.toContain("'colour' (did you mean");
    expect(error.message).toContain("'nmae' (did you mean 'name'?)");
  });

  it('substitutes ${env:NAME} and names a missing variable with its field path', () => {
    const withEnv = structuredClone(minimal) as unknown as { tenants: { clientKeys: { key: string }[] }[] };
    withEnv.tenants[0]!.clientKeys[0]!.key = '${env:AGENT_KEY}';
    const config = parseConfig(withEnv, { env: { AGENT_KEY: 'gatehouse_sk_from_environment_123456' } });
    expect(config.tenants[0]?.clientKeys[0]?.key).toBe('gatehouse_sk_from_environment_123456');
    const error = expectConfigError(() => parseConfig(withEnv, { env: {} }));
    expect(error.details).toMatchObject({ variable: 'AGENT_KEY', path: 'tenants[0].clientKeys[0].key' });
  });

  it('(review finding 8a) refuses a secret shorter than 8 characters, naming its field, without echoing it', () => {
    const services = [
      {
        id: 'pets',
        openapi: './pets.yaml',
        baseUrl: 'http://127.0.0.1:9000',
        auth: { type: 'bearer', token: 'abc1234' },
      },
    ];
    const error = expectConfigError(() => parseConfig({ tenants: [{ ...minimal.tenants[0], services }] }, { env: {} }));
    expect(error.details?.['path']).toBe('tenants[0].services[0].auth.token');
    expect(error.message).not.toContain('abc1234');
    for (const [field, value] of [
      ['adminToken', 'x'],
      ['metricsToken', 'short'],
    ] as const) {
      expect(expectConfigError(() => parseConfig({ ...minimal, [field]: value }, { env: {} })).details?.['path']).toBe(
        field,
      );
    }
    const key = { type: 'apiKey', in: 'query', name: 'key', value: 'k' };
    const keyed = [{ ...services[0], auth: key }];
    expect(
      expectConfigError(() => parseConfig({ tenants: [{ ...minimal.tenants[0], services: keyed }] }, { env: {} }))
        .details?.['path'],
    ).toBe('tenants[0].services[0].auth.value');
    // Eight characters are accepted: the scrubber removes them from results and logs.
    const ok = [{ ...services[0], auth: { type: 'bearer', token: 'abcd1234' } }];
    expect(() => parseConfig({ tenants: [{ ...minimal.tenants[0], services: ok }] }, { env: {} })).not.toThrow();
  });

  it('does not echo a secret placed in a wrong field', () => {
    const bad = structuredClone(minimal) as unknown as { tenants: { clientKeys: Record<string, unknown>[] }[] };
    bad.tenants[0]!.clientKeys[0]!['toolsets'] = 'sk_live_SECRET_VALUE_123';
    const error = expectConfigError(() => parseConfig(bad, { env: {} }));
    expect(error.message).not.toContain('SECRET_VALUE');
  });

  it('rejects a client key naming a toolset the tenant does not have, and duplicate ids', () => {
    const bad = structuredClone(minimal) as unknown as { tenants: { clientKeys: { toolsets: string[] }[] }[] };
    bad.tenants[0]!.clientKeys[0]!.toolsets = ['nope'];
    expect(expectConfigError(() => parseConfig(bad, { env: {} })).details['path']).toBe(
      'tenants[0].clientKeys[0].toolsets[0]',
    );
    const dup = { tenants: [minimal.tenants[0], minimal.tenants[0]] };
    expect(expectConfigError(() => parseConfig(dup, { env: {} })).details['path']).toBe('tenants[1].id');
  });

  it('lets environment variables override top-level fields', () => {
    const config = parseConfig(minimal, { env: { GATEHOUSE_LISTEN: '127.0.0.1:9999', GATEHOUSE_MODE: 'production' } });
    expect(config.listen).toBe('127.0.0.1:9999');
    expect(config.mode).toBe('production');
  });

  it('(issue 13) reads trustedProxies from the file or GATEHOUSE_TRUSTED_PROXIES, and names a bad entry with its index', () => {
    expect(parseConfig({}, { env: {} }).trustedProxies).toEqual([]);
    expect(parseConfig({ trustedProxies: ['10.0.0.0/8', '::1'] }, { env: {} }).trustedProxies).toEqual([
      '10.0.0.0/8',
      '::1',
    ]);
    const fromEnv = parseConfig({}, { env: { GATEHOUSE_TRUSTED_PROXIES: '10.0.0.0/8, 127.0.0.1' } });
    expect(fromEnv.trustedProxies).toEqual(['10.0.0.0/8', '127.0.0.1']);
    const bad = expectConfigError(() => parseConfig({ trustedProxies: ['127.0.0.1', '10.0.0.1/8'] }, { env: {} }));
    expect(bad.details['path']).toBe('trustedProxies[1]');
    expect(bad.message).toContain(
      "trustedProxies[1]: '10.0.0.1/8' has host bits set under /8: the block is 10.0.0.0/8",
    );
    const badEnv = expectConfigError(() => parseConfig({}, { env: { GATEHOUSE_TRUSTED_PROXIES: 'lb.internal' } }));
    expect(badEnv.message).toContain("trustedProxies[0] (from GATEHOUSE_TRUSTED_PROXIES): 'lb.internal' is not an IP");
  });

  it('trusted_proxies_mapped_spelling_trusts_every_ipv4: an IPv6 block holding ::ffff:0:0/96 is refused in any spelling', () => {
    for (const entry of ['0:0:0:0:0:ffff:0:0/96', '0::ffff:0:0/96', '::/80']) {
      const bad = expectConfigError(() => parseConfig({ trustedProxies: ['10.0.0.5', entry] }, { env: {} }));
      expect(bad.details['path']).toBe('trustedProxies[1]');
      expect(bad.message).toContain('so it trusts every IPv4 address: list IPv4 proxies in their IPv4 form');
    }
  });
});

describe('loadConfigFile', () => {
  it('reports invalid YAML and unreadable files as config errors', () => {
    const dir = mkdtempSync(join(tmpdir(), 'gh-config-'));
    const file = join(dir, 'gatehouse.yaml');
    writeFileSync(file, 'tenants: [\n');
    expectConfigError(() => loadConfigFile(file, {}));
    expectConfigError(() => loadConfigFile(join(dir, 'missing.yaml'), {}));
    writeFileSync(file, 'listen: 127.0.0.1:8080\n');
    expect(loadConfigFile(file, {}).listen).toBe('127.0.0.1:8080');
  });

  it('yaml_error_truncated_no_quote_hint: an unquoted ${env:...} in a flow mapping is named with the fix, and no source line is shown', () => {
    const dir = mkdtempSync(join(tmpdir(), 'gh-config-'));
    const file = join(dir, 'gatehouse.yaml');
    const literal = 'sk-live-do-not-print-0123456789';
    writeFileSync(
      file,
      [
        'tenants:',
        '  - id: acme',
        '    services:',
        '      - id: widgets',
        `        fixed: { note: ${literal} }`,
        '        auth: { type: apiKey, in: header, name: X-Key, value: ${env:WIDGETS_KEY} }',
        '',
      ].join('\n'),
    );
    const error = expectConfigError(() => loadConfigFile(file, {}));
    expect(error.message).toMatch(
      /invalid YAML: .*at line 6, column \d+: an \$\{env:NAME\} reference inside \{ \} or \[ \] must be quoted, e\.g\. value: "\$\{env:NAME\}"$/,
    );
    expect(error.message).not.toContain(literal);
    expect(error.message).not.toContain('WIDGETS_KEY');
  });
});

describe('${service.clientId} in a fixed header (issue 11: Twitch Client-Id)', () => {
  const withHeaders = (headers: Record<string, string>, auth: Record<string, unknown>) => ({
    tenants: [
      {
        ...minimal.tenants[0],
        services: [{ id: 'pets', openapi: './pets.yaml', baseUrl: 'http://127.0.0.1:9000', headers, auth }],
      },
    ],
  });
  const oauth = { type: 'oauth2', clientId: 'app-client-id', clientSecret: 'app-client-secret-0123' };

  it('accepts the client id of an oauth2 service', () => {
    const config = parseConfig(withHeaders({ 'Client-Id': '${service.clientId}' }, oauth), { env: {} });
    expect(config.tenants[0]?.services[0]?.headers).toEqual({ 'Client-Id': '${service.clientId}' });
  });

  it('refuses any other setting (a secret above all), naming the header field', () => {
    const error = expectConfigError(() =>
      parseConfig(withHeaders({ 'X-Key': 'k=${service.clientSecret}' }, oauth), { env: {} }),
    );
    expect(error.message).toContain('tenants[0].services[0].headers.X-Key');
    expect(error.message).toContain('may reference only ${service.clientId} (never a secret)');
    expect(error.message).not.toContain('app-client-secret-0123');
  });

  it('refuses a per-connection variable in a header unless the auth has the quirk that fills it', () => {
    const error = expectConfigError(() =>
      parseConfig(withHeaders({ 'xero-tenant-id': '{tenantId}' }, oauth), { env: {} }),
    );
    expect(error.message).toContain('tenants[0].services[0].headers.xero-tenant-id');
    expect(error.message).toContain('uses {tenantId}, which only an oauth2 auth with quirk xero-tenant-id fills');
    const config = parseConfig(
      withHeaders({ 'xero-tenant-id': '{tenantId}' }, { ...oauth, quirks: ['xero-tenant-id'] }),
      {
        env: {},
      },
    );
    expect(config.tenants[0]?.services[0]?.headers).toEqual({ 'xero-tenant-id': '{tenantId}' });
  });

  it('refuses the client id where the auth has none', () => {
    const error = expectConfigError(() =>
      parseConfig(withHeaders({ 'Client-Id': '${service.clientId}' }, { type: 'bearer', token: 'bearer-token-0123' }), {
        env: {},
      }),
    );
    expect(error.message).toContain('tenants[0].services[0].headers.Client-Id');
    expect(error.message).toContain("needs an oauth2 auth with a clientId (this service's auth is bearer)");
  });
});
