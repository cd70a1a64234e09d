import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { createProviderExpander } from '../catalog/index.ts';
import { parseConfig } from '../core/index.ts';
import { runCheck } from './run-check.ts';

/** `gatehouse check --json` of a config given as an object, with the built-in catalogue. */
async function warningsOf(tenant: Record<string, unknown>, top: Record<string, unknown> = {}) {
  return (await reportOf(tenant, top)).warnings;
}

/** What `gatehouse check` (`--json` when `json`) prints for `config`; it must exit 0. */
async function outputOf(config: Parameters<typeof runCheck>[0], json: boolean): Promise<string> {
  let out = '';
  const write = (text: string) => {
    out += text;
    return true;
  };
  expect(await runCheck(config, json, { stdout: { write } } as never)).toBe(0);
  return out;
}

/** Warnings and notes of `gatehouse check --json`. */
async function reportOf(tenant: Record<string, unknown>, top: Record<string, unknown> = {}) {
  const config = parseConfig({ ...top, tenants: [tenant] }, { env: {}, expandProvider: createProviderExpander() });
  return JSON.parse(await outputOf(config, true)) as {
    warnings: { code: string; path: string; message: string }[];
    notes: { code: string; path: string; message: string }[];
  };
}

describe('gatehouse check warnings (issue 11)', () => {
  it("unsafe_opt_out: names each opt-out of the approval and connect pages' sign-in, and nothing by default", async () => {
    const tenant = { id: 'acme', services: [], toolsets: [] };
    expect((await warningsOf(tenant)).filter((w) => w.code === 'unsafe_opt_out')).toEqual([]);
    const warnings = await warningsOf(tenant, {
      approvals: { unsafeLinkAloneApproves: true },
      connectLinks: { unsafeLinkAloneConnects: true },
    });
    expect(warnings.filter((w) => w.code === 'unsafe_opt_out').map((w) => w.path)).toEqual([
      'approvals.unsafeLinkAloneApproves',
      'connectLinks.unsafeLinkAloneConnects',
    ]);
  });

  it('private_mcp_url_unwarned: warns about an mcp: server on a loopback or private address, as about a baseUrl', async () => {
    const tenant = {
      id: 'acme',
      services: [{ id: 'notes', mcp: 'http://localhost:4100/mcp' }],
      toolsets: [{ id: 'all', tools: ['*'], access: 'write' }],
    };
    // Before: nothing, and serve then refused every listing (upstream_blocked), the service degraded.
    const warnings = (await warningsOf(tenant)).filter((w) => w.code === 'private_upstream');
    expect(warnings).toEqual([
      {
        code: 'private_upstream',
        path: 'tenants[0].services[0].mcp',
        message: expect.stringContaining('unsafeAllowPrivateUpstreams: ["localhost"]'),
      },
    ]);
    const allowed = await warningsOf(tenant, { unsafeAllowPrivateUpstreams: ['localhost'] });
    expect(allowed.filter((w) => w.code === 'private_upstream')).toEqual([]);
  });

  it('weak_admin_token: names a short admin token by its length, never its value, and nothing for a long one', async () => {
    const tenant = { id: 'acme', services: [], toolsets: [] };
    const short = 'short-admin-tok';
    const warnings = (await warningsOf(tenant, { adminToken: short })).filter((w) => w.code === 'weak_admin_token');
    expect(warnings).toEqual([
      {
        code: 'weak_admin_token',
        path: 'adminToken',
        message: expect.stringContaining('the admin token has 15 characters'),
      },
    ]);
    expect(JSON.stringify(warnings)).not.toContain(short);
    const long = 'x'.repeat(32);
    expect((await warningsOf(tenant, { adminToken: long })).filter((w) => w.code === 'weak_admin_token')).toEqual([]);
  });

  it('check_token_numbers_inconsistent: a tool counts the same in its toolset and its overlay, and the rows account for tools/list', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'gh-check-tokens-'));
    const description = join(dir, 'widgets.openapi.yaml');
    writeFileSync(
      description,
      [
        'openapi: 3.0.3',
        'info: { title: Widgets, version: "1" }',
        'paths:',
        '  /widgets/{id}:',
        '    get:',
        '      operationId: getWidget',
        '      summary: Get a widget',
        '      parameters: [{ name: id, in: path, required: true, schema: { type: string } }]',
        '      responses:',
        '        "200":',
        '          description: The widget',
        '          content:',
        '            application/json:',
        '              schema: { type: object, properties: { id: { type: string }, name: { type: string }, size: { type: integer } } }',
        '',
      ].join('\n'),
    );
    const report = (await reportOf({
      id: 'acme',
      services: [
        {
          id: 'widgets',
          openapi: description,
          baseUrl: 'https://widgets.example.com',
          overlays: { getWidget: { name: 'fetch_widget' } },
        },
      ],
      toolsets: [{ id: 'ops', tools: ['widgets_*'] }],
    })) as unknown as {
      toolsets: {
        listTokens: number;
        tools: { name: string; tokens: number; outputSchema: boolean }[];
        alwaysListed: { name: string; tokens: number }[];
      }[];
      overlays: { after: { name: string; tokens: number } }[];
    };
    const [toolset] = report.toolsets;
    const tool = toolset?.tools.find((t) => t.name === 'widgets_fetch_widget');
    expect(tool?.outputSchema).toBe(true);
    // Before: the overlay table counted the entry without its output schema (93 -> 86 against 116 in the toolset).
    expect(report.overlays[0]?.after).toMatchObject({ name: 'widgets_fetch_widget', tokens: tool?.tokens });
    // Before: the two result tools were in tools/list's total but in no row.
    expect(toolset?.alwaysListed.map((t) => t.name)).toEqual(['gatehouse_result_query', 'gatehouse_result_page']);
    const rows = [...(toolset?.tools ?? []), ...(toolset?.alwaysListed ?? [])].reduce((sum, t) => sum + t.tokens, 0);
    expect(Math.abs(rows - (toolset?.listTokens ?? 0))).toBeLessThanOrEqual(10);
  });

  it('warns when an overlay or a toolset marks a POST/PUT/PATCH/DELETE operation safe, naming the field', async () => {
    const warnings = await warningsOf({
      id: 'acme',
      services: [
        {
          provider: 'slack',
          clientId: 'slack-client',
          clientSecret: 'slack-client-secret',
          scopes: ['channels:read', 'chat:write'],
          overlays: { post_message: { safety: 'safe' }, list_channels: { safety: 'safe' } },
        },
      ],
      toolsets: [
        { id: 'chat', tools: ['slack_*'], policy: { safety: { 'slack_delete*': 'safe', 'slack_list*': 'safe' } } },
      ],
    });
    const safeWrites = warnings.filter((w) => w.code === 'safe_write');
    expect(safeWrites.map((w) => w.path)).toEqual([
      'tenants[0].services[0].overlays.post_message.safety',
      'tenants[0].toolsets[0].policy.safety.slack_delete*',
    ]);
    expect(safeWrites[0]?.message).toContain('POST /chat.postMessage');
  });

  it("redirect_uri_rule: warns when publicUrl breaks the provider's redirect URI rule (Slack HTTPS only; Google loopback http is fine)", async () => {
    const slack = { provider: 'slack', clientId: 'slack-client', clientSecret: 'slack-client-secret' };
    const google = { provider: 'google-calendar', clientId: 'g-client', clientSecret: 'g-client-secret' };
    const local = await warningsOf({ id: 'acme', services: [slack, google] }, { publicUrl: 'http://127.0.0.1:8787' });
    expect(local.filter((w) => w.code === 'redirect_uri_rule')).toEqual([
      expect.objectContaining({
        path: 'tenants[0].services[0]',
        message: expect.stringContaining('Slack accepts HTTPS redirect URIs only'),
      }),
    ]);
    const lan = await warningsOf({ id: 'acme', services: [google] }, { publicUrl: 'http://gatehouse.lan:8787' });
    expect(lan.map((w) => w.code)).toContain('redirect_uri_rule');
    const secure = await warningsOf({ id: 'acme', services: [slack, google] }, { publicUrl: 'https://gw.example.com' });
    expect(secure.filter((w) => w.code === 'redirect_uri_rule')).toEqual([]);
  });

  it('slack_private_channels_unsaid: a Slack service on the catalogue scopes gets a note naming what to add for private channels and DMs', async () => {
    const slack = { provider: 'slack', clientId: 'slack-client', clientSecret: 'slack-client-secret' };
    const toolsets = [{ id: 'reader', tools: ['slack_*'], access: 'read' }];
    const defaults = await reportOf({ id: 'acme', services: [slack], toolsets });
    expect(defaults.notes).toEqual([
      expect.objectContaining({
        code: 'optional_reach',
        path: 'tenants[0].services[0].scopes',
        message: expect.stringContaining('private channels the user is in (add groups:read, groups:history)'),
      }),
    ]);
    expect(defaults.notes[0]?.message).toContain('service slack');
    expect(defaults.notes[0]?.message).toContain('direct messages (add im:read, im:history)');
    const listed = await reportOf({
      id: 'acme',
      services: [{ ...slack, scopes: ['channels:read', 'channels:history', 'groups:read', 'groups:history'] }],
      toolsets,
    });
    expect(listed.notes).toEqual([]);
  });

  it("warns when a provider service asks for the provider's default scopes and they include a write scope", async () => {
    const defaults = await warningsOf({
      id: 'acme',
      services: [{ provider: 'salesforce', clientId: 'sf-client', clientSecret: 'sf-client-secret' }],
    });
    expect(defaults.filter((w) => w.code === 'write_default_scope')).toEqual([
      expect.objectContaining({ path: 'tenants[0].services[0].scopes', message: expect.stringContaining('api') }),
    ]);
    const chosen = await warningsOf({
      id: 'acme',
      services: [
        { provider: 'salesforce', clientId: 'sf-client', clientSecret: 'sf-client-secret', scopes: ['refresh_token'] },
      ],
    });
    expect(chosen.filter((w) => w.code === 'write_default_scope')).toEqual([]);
  });

  it("write_default_scope_narrow: warns when a read-only toolset's connect link would ask a write scope", async () => {
    const github = { provider: 'github', clientId: 'gh-client', clientSecret: 'gh-client-secret' };
    // Configured scopes differ from the defaults, yet the read toolset's link asks the write scope `repo`.
    const broad = await warningsOf({
      id: 'acme',
      services: [{ ...github, scopes: ['repo', 'read:user'] }],
      toolsets: [{ id: 'reader', tools: ['github_*'], access: 'read' }],
    });
    expect(broad.filter((w) => w.code === 'write_default_scope')).toEqual([
      expect.objectContaining({
        path: 'tenants[0].toolsets[0]',
        message: expect.stringMatching(/reader.*github.*\brepo\b/),
      }),
    ]);
    // A write toolset asking write scopes is what it is for: no warning.
    const writer = await warningsOf({
      id: 'acme',
      services: [{ ...github, scopes: ['repo', 'read:user'] }],
      toolsets: [{ id: 'writer', tools: ['github_*'], access: 'write' }],
    });
    expect(writer.filter((w) => w.code === 'write_default_scope')).toEqual([]);
  });
});

describe('gatehouse check: output schemas given way to the list bound (issue 11)', () => {
  it('names the tools listed without their output schema, why, and the setting that keeps them', async () => {
    const config = parseConfig(
      {
        tenants: [
          {
            id: 'acme',
            services: [{ provider: 'slack', clientId: 'slack-client', clientSecret: 'slack-client-secret' }],
            toolsets: [{ id: 'chat', tools: ['slack_*'], access: 'write', discovery: { maxListTokens: 3_000 } }],
          },
        ],
      },
      { env: {}, expandProvider: createProviderExpander() },
    );
    const out = await outputOf(config, false);
    const note = out.split('\n').find((line) => line.startsWith('  note: ') && line.includes('output schema'));
    expect(note).toMatch(
      /^ {2}note: \d+ tool\(s\) list no output schema: with every schema tools\/list would take \d+ tokens, over discovery\.maxListTokens \(3000\), so the largest were dropped: slack_\w+/,
    );
    expect(note).toContain('raise discovery.maxListTokens to keep them');
    expect(out).not.toContain('(discovery meta-tools)');
  });
});

describe('gatehouse check: a toolset of remote MCP tools only (issue 12)', () => {
  /** `gatehouse check`'s text output for one tenant. */
  async function textOf(tenant: Record<string, unknown>) {
    const config = parseConfig({ tenants: [tenant] }, { env: {} });
    return outputOf(config, false);
  }

  it('remote_only_empty_table: says the tools come from the remote servers at start, naming them, instead of an empty table', async () => {
    const out = await textOf({
      id: 'acme',
      services: [
        { id: 'notes', mcp: 'https://notes.example.com/mcp', auth: { type: 'none' } },
        { id: 'tasks', mcp: 'https://tasks.example.com/mcp', auth: { type: 'none' } },
        { id: 'wiki', mcp: 'https://wiki.example.com/mcp', auth: { type: 'none' } },
      ],
      toolsets: [{ id: 'remote', tools: ['notes_*', 'tasks_*'], access: 'write' }],
    });
    const section = out.slice(out.indexOf('acme/remote:'));
    expect(section).toContain(
      '  tools: listed from remote MCP server(s) notes, tasks when the gateway starts (check reads no server)\n',
    );
    expect(section).not.toMatch(/^ {2}tool +safety +tokens/m);
    expect(section).not.toContain('wiki');
  });

  it('a toolset with tools of its own and of a remote server keeps its table', async () => {
    const out = await textOf({
      id: 'acme',
      services: [
        {
          id: 'pets',
          openapi: fileURLToPath(new URL('../catalog/fixtures/petstore.yaml', import.meta.url)),
          baseUrl: 'https://pets.example.com',
        },
        { id: 'notes', mcp: 'https://notes.example.com/mcp', auth: { type: 'none' } },
      ],
      toolsets: [{ id: 'mixed', tools: ['pets_*', 'notes_*'], access: 'write' }],
    });
    expect(out).toMatch(/^ {2}tool +safety +tokens/m);
    expect(out).not.toContain('  tools: listed from remote MCP server(s)');
  });
});
