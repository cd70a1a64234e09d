import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../core/index.ts';
import { inspectConfig } from './inspect-config.ts';

const petstore = fileURLToPath(new URL('../catalog/fixtures/petstore.yaml', import.meta.url));

describe('inspectConfig', () => {
  it('warns about a glob that matches no tool of the tenant, in every field that takes tool globs', () => {
    const config = parseConfig(
      {
        tenants: [
          {
            id: 'acme',
            services: [{ id: 'pets', openapi: petstore, baseUrl: 'https://pets.example.com' }],
            toolsets: [
              {
                id: 'support',
                tools: ['pets_*', 'petz_*'],
                exclude: ['pets_deletPet'],
                access: 'write',
                approval: ['pets_nothing'],
              },
            ],
          },
        ],
      },
      { env: {} },
    );
    const [report] = inspectConfig(config);
    expect(report?.problems).toEqual([
      // The unmatched approval entry makes the destructive deletePet wait (fail closed), and nobody can approve it.
      "1 tool(s) need approval, but no approver can sign in to the approval page: set this tenant's approverToken (or adminToken)",
      "tools: 'petz_*' matches no tool of the tenant, so it has no effect",
      "exclude: 'pets_deletPet' matches no tool of the tenant, so it has no effect",
      "approval: 'pets_nothing' names no tool of the toolset, so every destructive tool of the toolset waits for a person too until it does",
    ]);
  });
});

const fixture = fileURLToPath(new URL('../../test/fixtures/fake-api.openapi.yaml', import.meta.url));

function problemsOf(extra: Record<string, unknown>, tenant: Record<string, unknown> = {}): readonly string[] {
  const config = parseConfig(
    {
      ...extra,
      tenants: [
        {
          id: 'acme',
          ...tenant,
          services: [{ id: 'open', openapi: fixture, baseUrl: 'https://api.example.com', auth: { type: 'none' } }],
          toolsets: [{ id: 'all', tools: ['*'], access: 'write', approval: 'destructive' }],
        },
      ],
    },
    { env: {}, baseDir: process.cwd() },
  );
  return inspectConfig(config)[0]?.problems ?? [];
}

describe('inspectConfig and approvals', () => {
  it('17.7 (review finding 7) warns when tools need approval but no approver credential can sign in', () => {
    const warning = (problems: readonly string[]) => problems.filter((p) => p.includes('approverToken'));
    expect(warning(problemsOf({}))).toHaveLength(1);
    expect(warning(problemsOf({ adminToken: 'admin-token-0123456789abcdef' }))).toEqual([]);
    expect(warning(problemsOf({}, { approverToken: 'acme-approver-token-0123456789' }))).toEqual([]);
    expect(warning(problemsOf({ approvals: { unsafeLinkAloneApproves: true } }))).toEqual([]);
  });

  it('(issue 10 first-hour trial) a description file that is missing names its config field and the cause', () => {
    const config = parseConfig(
      {
        tenants: [
          { id: 'acme', services: [{ id: 'pets', openapi: '/nowhere/pets.yaml', baseUrl: 'https://x.example' }] },
        ],
      },
      { env: {} },
    );
    let error: unknown;
    try {
      inspectConfig(config);
    } catch (thrown) {
      error = thrown;
    }
    expect(error).toMatchObject({
      code: 'description_invalid',
      details: { path: 'tenants[0].services[0].openapi', cause: 'ENOENT' },
    });
  });
});

describe("inspectConfig: tools the service's configured scopes cannot cover", () => {
  const scoped = fileURLToPath(new URL('../../test/fixtures/scoped-api.openapi.yaml', import.meta.url));

  it('lists them hidden, per service, with the scopes each lacks and the fix', () => {
    const config = parseConfig(
      {
        tenants: [
          {
            id: 'acme',
            services: [
              {
                id: 'work',
                openapi: scoped,
                baseUrl: 'https://api.example.com',
                auth: {
                  type: 'oauth2',
                  authorizationUrl: 'https://as.example.com/a',
                  tokenUrl: 'https://as.example.com/t',
                  clientId: 'c',
                  scopes: ['items:read', 'items:write'],
                },
              },
            ],
            toolsets: [{ id: 'all', tools: ['*'], access: 'write' }],
          },
        ],
      },
      { env: {} },
    );
    const [report] = inspectConfig(config);
    expect(report?.tools.map((tool) => tool.name)).toEqual([
      'work_listItems',
      'work_createItem',
      'work_searchItems',
      'work_deleteItem',
    ]);
    expect(report?.problems.filter((problem) => problem.includes('hidden'))).toEqual([
      "2 tool(s) hidden: service work's configured scopes cannot cover them: work_sendMessage (needs messages:send), work_exportAll (needs admin); add the scopes to the service's scopes to list them",
    ]);
  });
});

describe('inspectConfig on a remote MCP server (newcomer finding: check called its globs typos)', () => {
  function reportOf(toolset: Record<string, unknown>) {
    const config = parseConfig(
      {
        tenants: [
          {
            id: 'acme',
            services: [
              { id: 'pets', openapi: petstore, baseUrl: 'https://pets.example.com' },
              { id: 'tiny', mcp: 'https://mcp.example.com/mcp', auth: { type: 'none' } },
            ],
            toolsets: [{ id: 'main', access: 'write', approval: 'none', ...toolset }],
          },
        ],
      },
      { env: {} },
    );
    return inspectConfig(config)[0];
  }

  it('does not warn that globs naming its tools match nothing, and says its tools are listed at start', () => {
    const report = reportOf({ tools: ['tiny_*'], exclude: ['tiny_drop'], policy: { safety: { tiny_chatty: 'safe' } } });
    expect(report?.problems).toEqual([]);
    expect(report?.remoteServices).toEqual(['tiny']);
    expect(report?.notes).toEqual([
      'service tiny is a remote MCP server: its tools are listed from it when the gateway starts, so they are not shown or counted here',
    ]);
  });

  it('warns that a read-only toolset exposes none of its tools until policy.safety classes them safe', () => {
    const report = reportOf({ tools: ['tiny_*'], access: 'read' });
    expect(report?.problems).toEqual([
      "service tiny is a remote MCP server and this toolset is read-only (access: read, the default): a remote server's tools are never safe by their hints, so it exposes none of them until policy.safety classes one safe (or set access: write)",
    ]);
    expect(
      reportOf({ tools: ['tiny_*'], access: 'read', policy: { safety: { tiny_chatty: 'safe' } } })?.problems,
    ).toEqual([]);
  });

  it('still warns about a glob that can name no tool of the tenant, federated or not', () => {
    const report = reportOf({ tools: ['tiny_*', 'petz_*'] });
    expect(report?.problems).toEqual(["tools: 'petz_*' matches no tool of the tenant, so it has no effect"]);
  });

  it('an unprefixed remote MCP server can have any tool name', () => {
    const report = reportOf({ tools: ['search_*'], unprefixed: ['tiny'] });
    expect(report?.problems).toEqual([]);
  });

  it('says nothing about a remote MCP server the toolset cannot reach', () => {
    const report = reportOf({ tools: ['pets_*'] });
    expect(report?.problems).toEqual([]);
    expect(report?.remoteServices).toEqual([]);
    expect(report?.notes).toEqual([]);
  });
});
