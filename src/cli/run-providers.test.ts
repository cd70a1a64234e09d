import { mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCliInProcess } from '../../test/support/run-cli-in-process.ts';
import { builtInCatalogRoot, loadProviders } from '../catalog/index.ts';

const providerFiles = readdirSync(join(builtInCatalogRoot, 'providers')).filter((f) => f.endsWith('.yaml'));

describe('gatehouse providers', () => {
  it('list prints one row per provider file; --json carries id, auth and pack', async () => {
    const text = await runCliInProcess(['providers', 'list']);
    expect(text.code).toBe(0);
    expect(text.stdout.split('\n')[0]).toBe(
      `${providerFiles.length} provider(s); details: gatehouse providers show ID`,
    );
    const json = await runCliInProcess(['providers', 'list', '--json']);
    const rows = JSON.parse(json.stdout) as { id: string; auth: string }[];
    expect(rows.map((r) => `${r.id}.yaml`)).toEqual(providerFiles.sort());
  });

  it('list --category keeps only that category; an unknown one exits 2 with the valid choices', async () => {
    const json = await runCliInProcess(['providers', 'list', '--category', 'calendar', '--json']);
    const ids = (JSON.parse(json.stdout) as { id: string }[]).map((r) => r.id);
    const expected = loadProviders()
      .providers.filter((p) => (p.categories as readonly string[]).includes('calendar'))
      .map((p) => p.id);
    expect(ids).toEqual(expected);
    expect(ids).toContain('google-calendar');
    const bad = await runCliInProcess(['providers', 'list', '--category', 'calender']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain("did you mean 'calendar'?");
  });

  it('show names the redirect URI to register (from the public URL), each scope with its class, the config lines', async () => {
    const shown = await runCliInProcess(['providers', 'show', 'slack'], {
      env: { GATEHOUSE_PUBLIC_URL: 'https://gw.example.com' },
    });
    expect(shown.code).toBe(0);
    expect(shown.stdout).toContain('Redirect URI to register: https://gw.example.com/oauth/callback');
    expect(shown.stdout).toMatch(/chat:write\s+write\s+/);
    expect(shown.stdout).toMatch(/channels:read\s+read\s+/);
    expect(shown.stdout).toContain('    - provider: slack');
    const unknown = await runCliInProcess(['providers', 'show', 'slak']);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain("did you mean 'slack'?");
  });

  it("redirect_uri_rule_unsaid: show states the provider's known rule for the redirect URI, and flags an http public URL it breaks", async () => {
    const slack = await runCliInProcess(['providers', 'show', 'slack'], {
      env: { GATEHOUSE_PUBLIC_URL: 'http://127.0.0.1:8787' },
    });
    expect(slack.stdout).toContain('Redirect URI to register: http://127.0.0.1:8787/oauth/callback');
    expect(slack.stdout).toContain('Slack accepts HTTPS redirect URIs only');
    expect(slack.stdout).toContain('this public URL is http: set publicUrl to an HTTPS address');
    const google = await runCliInProcess(['providers', 'show', 'google-calendar'], {
      env: { GATEHOUSE_PUBLIC_URL: 'http://127.0.0.1:8787' },
    });
    expect(google.stdout).toContain('HTTPS, or http on localhost or a loopback address');
    expect(google.stdout).not.toContain('set publicUrl to an HTTPS address');
    const github = await runCliInProcess(['providers', 'show', 'github']);
    expect(github.stdout).toContain('docs/providers.md#redirect-uri-to-register');
  });

  it('provider_fixed_header_in_input_schema: show prints the fixed headers, which no tool asks for', async () => {
    const shown = await runCliInProcess(['providers', 'show', 'twitch']);
    expect(shown.code).toBe(0);
    expect(shown.stdout).toContain('Fixed headers (sent with every call, not tool arguments):');
    expect(shown.stdout).toContain('  Client-Id: ${service.clientId}');
    const salesforce = await runCliInProcess(['providers', 'show', 'salesforce']);
    expect(salesforce.stdout).toContain('Refresh token scope (kept on every connect link): refresh_token');
  });

  it('twitch_no_description_unsaid: show says a provider without a description has none', async () => {
    const twitch = await runCliInProcess(['providers', 'show', 'twitch']);
    expect(twitch.stdout).toContain('Tool pack: none');
    expect(twitch.stdout).toContain(
      'Description: none known (no tool pack, no public description); write one for the operations you need and set openapi: to it',
    );
    const slack = await runCliInProcess(['providers', 'show', 'slack']);
    expect(slack.stdout).not.toContain('Description: none known');
  });

  it('a config naming an unknown provider, scope or missing variable exits 2 naming the field', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'providers-cli-'));
    const config = join(dir, 'gatehouse.yaml');
    writeFileSync(
      config,
      'tenants:\n  - id: acme\n    services:\n      - { provider: slak, clientId: c, clientSecret: some-secret-value }\n',
    );
    const unknown = await runCliInProcess(['check', '--config', config]);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain(
      "tenants[0].services[0].provider: unknown provider 'slak' (did you mean 'slack'?)",
    );
    writeFileSync(
      config,
      'tenants:\n  - id: acme\n    services:\n      - { provider: github, clientId: c, scopes: [repos], openapi: x.yaml }\n',
    );
    const scope = await runCliInProcess(['check', '--config', config]);
    expect(scope.code).toBe(2);
    expect(scope.stderr).toContain(
      "tenants[0].services[0].scopes[0]: unknown scope 'repos' for GitHub (did you mean 'repo'?)",
    );
  });
});
