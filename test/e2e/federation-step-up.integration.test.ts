import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectInChromium } from '../support/connect-in-chromium.ts';
import { connectClientV1 } from '../support/connect-mcp-clients.ts';
import { freePort } from '../support/free-port.ts';
import { chromiumMissing, launchChromium, type RunningChromium } from '../support/launch-chromium.ts';
import { type LegacyMcpUpstream, startLegacyMcpUpstream } from '../support/start-mcp-upstream.ts';
import { type RunningOidcProvider, startOidcProvider } from '../support/start-oidc-provider.ts';
import { startTestGateway, type TestGateway } from '../support/start-test-gateway.ts';

/**
 * Issue 12, scopes of a federated server (MCP authorization spec, "Scope Selection Strategy" and "Step-Up
 * Authorization Flow"). A remote MCP server (official SDK) protected by oidc-provider asks for `notes:read` in its 401
 * challenge (its metadata lists more), and answers a call that needs more with `403 WWW-Authenticate: Bearer
 * error="insufficient_scope", scope="..."`. The first connect link asks for the challenge's scope; a call refused for
 * scope answers `upstream_insufficient_scope` with a step-up link (or -32042 URL elicitation) asking for the grant
 * plus the challenged scope; after a person consents in Chromium the call works. A scope the authorization server
 * never grants ends with the error and no further link (no loop of consents).
 */
const adminToken = 'admin-token-for-federation-step-up-0123456789';
const clientKey = 'gatehouse_sk_federation_step_up_agent_0123456789';
const resourceScopes = ['notes:read', 'notes:write'];
/** What each tool and prompt needs; `notes:admin` is one the authorization server never grants. */
const needs: Record<string, string> = { write_note: 'notes:write', admin_note: 'notes:admin', draft: 'notes:write' };

const missing = chromiumMissing();

type ToolError = { code: string; message: string; details: Record<string, unknown> };

describe.skipIf(missing !== undefined)('a federated server that asks for more scope (step-up)', () => {
  let as: RunningOidcProvider;
  let upstream: LegacyMcpUpstream;
  let gateway: TestGateway;
  let browser: RunningChromium;
  let resource = '';
  const metadataPath = '/.well-known/oauth-protected-resource/mcp';
  /** Every 403 insufficient_scope the server answered, by tool or prompt. */
  const challenged: string[] = [];

  beforeAll(async () => {
    const port = await freePort();
    const publicUrl = `http://127.0.0.1:${port}`;
    const scopesOf = async (authorization: string | undefined) => {
      const token = /^Bearer (.+)$/.exec(authorization ?? '')?.[1];
      const found = token === undefined ? undefined : await as.provider.AccessToken.find(token);
      return found !== undefined && !found.isExpired && found.aud === resource ? (found.scope ?? '').split(' ') : null;
    };
    const text = (t: string) => ({ content: [{ type: 'text', text: t }] });
    upstream = await startLegacyMcpUpstream(
      [
        { name: 'read_note', call: () => text('a note') },
        { name: 'write_note', call: () => text('written') },
        { name: 'admin_note', call: () => text('administered') },
      ],
      {
        accepts: async (authorization) => (await scopesOf(authorization)) !== null,
        challenge: () =>
          `Bearer resource_metadata="${new URL(upstream.url).origin}${metadataPath}", scope="notes:read"`,
        documents: () => ({
          [metadataPath]: { resource, authorization_servers: [as.issuer], scopes_supported: resourceScopes },
        }),
        // The server's own per-operation check, as the SDK's `scopeChallenge` makes it: 403 naming what it needs.
        async refuses(authorization, body) {
          const { method, params } = body as { method?: string; params?: { name?: string } };
          if (method !== 'tools/call' && method !== 'prompts/get') return undefined;
          const needed = needs[params?.name ?? ''];
          if (needed === undefined || (await scopesOf(authorization))?.includes(needed)) return undefined;
          challenged.push(params?.name ?? '');
          return {
            status: 403,
            challenge: `Bearer error="insufficient_scope", scope="${needed}", resource_metadata="${new URL(upstream.url).origin}${metadataPath}", error_description="Additional permission required"`,
          };
        },
      },
      2,
      { prompts: [{ name: 'draft', get: () => [{ role: 'user', content: { type: 'text', text: 'Draft a note' } }] }] },
    );
    resource = upstream.url;
    as = await startOidcProvider({
      redirectUris: [`${publicUrl}/oauth/callback`],
      clientId: 'unused-static-client',
      clientSecret: 'unused-static-client-secret-0123456789',
      resource,
      resourceScopes,
      registration: true,
    });
    gateway = await startTestGateway(
      {
        adminToken,
        unsafeAllowPrivateUpstreams: ['127.0.0.1'],
        tenants: [
          {
            id: 'acme',
            services: [
              { id: 'notes', mcp: upstream.url, shared: true, auth: { type: 'oauth2' } },
              // The same server with the operator's scopes as the ceiling of what its connections are asked for.
              { id: 'capped', mcp: upstream.url, shared: true, auth: { type: 'oauth2', scopes: ['notes:read'] } },
            ],
            toolsets: [{ id: 'all', tools: ['*'], access: 'write', approval: 'none', unprefixed: ['notes'] }],
            clientKeys: [{ name: 'agent', key: clientKey, toolsets: ['all'], subject: 'alice' }],
          },
        ],
      },
      { port },
    );
    browser = await launchChromium();
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    await gateway?.close();
    await upstream?.close();
    await as?.close();
  });

  const client = () => connectClientV1(`${gateway.url}/mcp/acme/all`, clientKey, 'federation-step-up');

  /** The scopes an authorization request in Chromium asked for. */
  async function consent(url: string, name: string): Promise<string[]> {
    const done = await connectInChromium(browser, url, name);
    expect(done.callbackStatus).toBe(200);
    const authorize = new URL(done.visited.find((u) => u.startsWith(`${as.issuer}/auth?`)) ?? 'http://x');
    return (authorize.searchParams.get('scope') ?? '').split(' ').sort();
  }

  async function lastRecord(tool: string) {
    await gateway.adapters.audit?.flush();
    const records = await gateway.adapters.store.audit.query({ tenantId: 'acme', kind: 'tool_call', limit: 1_000 });
    return records.filter((r) => r.tool === tool).at(-1);
  }

  /** An operator's connect link for the shared connection of `service` (asking `scopes` when given). */
  async function adminLink(service: string, scopes?: readonly string[]): Promise<string> {
    const response = await fetch(`${gateway.url}/api/v1/tenants/acme/connections`, {
      method: 'POST',
      headers: { authorization: `Bearer ${adminToken}`, 'content-type': 'application/json' },
      body: JSON.stringify({ service, subject: 'shared', ...(scopes === undefined ? {} : { scopes }) }),
    });
    expect(response.status).toBe(201);
    return ((await response.json()) as { authorizeUrl: string }).authorizeUrl;
  }

  it('the first connect link asks for the scope of the 401 challenge (not every scope the metadata lists)', async () => {
    expect(await consent(await adminLink('notes'), 'federation-step-up-1-connect')).toEqual(['notes:read']);
    const mcp = await client();
    try {
      expect((await mcp.callTool({ name: 'read_note', arguments: {} })).content).toEqual([
        { type: 'text', text: 'a note' },
      ]);
    } finally {
      await mcp.close();
    }
  });

  it('a 403 insufficient_scope of a shared service answers upstream_insufficient_scope without a step-up link (finding shared_connection_takeover_by_step_up: any caller could replace the shared connection with their own account), audited deny; after the operator widens the connection the call works', async () => {
    const mcp = await client();
    try {
      const refused = await mcp.callTool({ name: 'write_note', arguments: {} });
      expect(refused.isError).toBe(true);
      const error = (refused.structuredContent as { error: ToolError }).error;
      expect(error.code).toBe('upstream_insufficient_scope');
      expect(error.details).toMatchObject({
        service: 'notes',
        status: 403,
        missingScopes: ['notes:write'],
        reason: 'shared',
      });
      expect(error.details['stepUpUrl']).toBeUndefined();
      expect(error.message).toContain('only an operator may connect again with more scopes');
      const record = await lastRecord('write_note');
      expect(record).toMatchObject({ code: 'upstream_insufficient_scope', decision: 'deny', upstreamStatus: null });

      // A client declaring URL elicitation is not sent a consent either: the refusal stays a tool error.
      const elicited = await mcp.callTool({
        name: 'write_note',
        arguments: {},
        _meta: { 'io.modelcontextprotocol/clientCapabilities': { elicitation: { url: {} } } },
      });
      expect((elicited.structuredContent as { error: ToolError }).error.details['reason']).toBe('shared');

      const operatorLink = await adminLink('notes', ['notes:read', 'notes:write']);
      expect(await consent(operatorLink, 'federation-step-up-2-step-up')).toEqual(['notes:read', 'notes:write']);
      const before = challenged.length;
      expect((await mcp.callTool({ name: 'write_note', arguments: {} })).content).toEqual([
        { type: 'text', text: 'written' },
      ]);
      expect((await mcp.callTool({ name: 'read_note', arguments: {} })).isError).toBeFalsy();
      expect((await mcp.getPrompt({ name: 'draft' })).messages).toHaveLength(1);
      expect(challenged.length).toBe(before);
      expect(await lastRecord('write_note')).toMatchObject({ code: null, decision: 'allow' });
    } finally {
      await mcp.close();
    }
  }, 60_000);

  it('a scope the authorization server does not grant when last asked: the error says so, without a link (no loop of consents)', async () => {
    const mcp = await client();
    try {
      const first = (await mcp.callTool({ name: 'admin_note', arguments: {} })).structuredContent as {
        error: ToolError;
      };
      expect(first.error.code).toBe('upstream_insufficient_scope');
      expect(first.error.details['reason']).toBe('shared');
      const operatorLink = await adminLink('notes', ['notes:read', 'notes:write', 'notes:admin']);
      expect(await consent(operatorLink, 'federation-step-up-3-refused')).toEqual([
        'notes:admin',
        'notes:read',
        'notes:write',
      ]);
      const connections = gateway.adapters.store.connections;
      expect((await connections.find('acme', 'notes', 'shared'))?.scopes).not.toContain('notes:admin');
      for (let attempt = 0; attempt < 2; attempt++) {
        const again = (await mcp.callTool({ name: 'admin_note', arguments: {} })).structuredContent as {
          error: ToolError;
        };
        expect(again.error.code).toBe('upstream_insufficient_scope');
        expect(again.error.details['stepUpUrl']).toBeUndefined();
        expect(again.error.details['reason']).toBe('refused');
        expect(again.error.message).toContain('did not grant notes:admin');
      }
      // What the server wanted before still works: the grant kept notes:write.
      expect((await mcp.callTool({ name: 'write_note', arguments: {} })).isError).toBeFalsy();
      expect(await lastRecord('admin_note')).toMatchObject({ code: 'upstream_insufficient_scope', decision: 'deny' });
    } finally {
      await mcp.close();
    }
  }, 60_000);

  it("a challenged scope outside the service's configured scopes gets no step-up link (the operator's ceiling)", async () => {
    expect(await consent(await adminLink('capped'), 'federation-step-up-4-capped')).toEqual(['notes:read']);
    const mcp = await client();
    try {
      const refused = (await mcp.callTool({ name: 'capped_write_note', arguments: {} })).structuredContent as {
        error: ToolError;
      };
      expect(refused.error.code).toBe('upstream_insufficient_scope');
      expect(refused.error.details['stepUpUrl']).toBeUndefined();
      expect(refused.error.details['reason']).toBe('ceiling');
      expect(refused.error.message).toContain("service capped's configured scopes do not include notes:write");
    } finally {
      await mcp.close();
    }
  }, 60_000);
});
