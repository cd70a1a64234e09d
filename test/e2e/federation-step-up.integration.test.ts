import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectInChromium } from '../support/connect-in-chromium.ts';
import { connectClientV1, connectUrlElicitingClient, type Elicited } from '../support/connect-mcp-clients.ts';
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
const bobKey = 'gatehouse_sk_federation_step_up_bob_0123456789ab';
const resourceScopes = ['notes:read', 'notes:write'];
/**
 * What each tool and prompt needs; `notes:admin` is one the authorization server never grants. `stubborn_note` is
 * refused for `notes:write` whatever the token holds (a server that refuses what its authorization server granted).
 */
const needs: Record<string, string> = {
  write_note: 'notes:write',
  admin_note: 'notes:admin',
  draft: 'notes:write',
  stubborn_note: 'notes:write',
  publish_note: 'notes:write',
};
/** Tools the server refuses with `401` rather than `403` (both are the spec's runtime scope challenge). */
const refusedWith401 = new Set(['publish_note']);

const missing = chromiumMissing();

type ToolError = { code: string; message: string; details: Record<string, unknown> };
/** The gateway's error in a tool result refused with `isError`. */
const toolErrorOf = (result: object): ToolError =>
  (result as { structuredContent: { error: ToolError } }).structuredContent.error;

describe.skipIf(missing !== undefined)('a federated server that asks for more scope (step-up)', () => {
  let as: RunningOidcProvider;
  let upstream: LegacyMcpUpstream;
  let gateway: TestGateway;
  let browser: RunningChromium;
  let resource = '';
  const metadataPath = '/.well-known/oauth-protected-resource/mcp';
  /** Every 403 insufficient_scope the server answered, by tool or prompt. */
  const challenged: string[] = [];
  /** The `Authorization` header each of those came with. */
  const challengedWith: (string | undefined)[] = [];

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
        { name: 'stubborn_note', call: () => text('never reached') },
        { name: 'publish_note', call: () => text('published') },
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
          const stubborn = params?.name === 'stubborn_note';
          if (needed === undefined || (!stubborn && (await scopesOf(authorization))?.includes(needed)))
            return undefined;
          challenged.push(params?.name ?? '');
          challengedWith.push(authorization);
          return {
            status: refusedWith401.has(params?.name ?? '') ? 401 : 403,
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
      // Longer than the refresh margin (a minute): a token request during a call is one the call caused, and a call
      // right after a consent finds the old token still cached by the refresh engine (finding
      // reconnect_served_stale_token: a 60 s token, always inside the margin, was never served from that cache).
      accessTokenTtl: 3_600,
    });
    gateway = await startTestGateway(
      {
        adminToken,
        unsafeAllowPrivateUpstreams: ['127.0.0.1'],
        // This suite tests the OAuth flow, not who opens a link (test/e2e/connect-link-binding): links open alone.
        connectLinks: { unsafeLinkAloneConnects: true },
        tenants: [
          {
            id: 'acme',
            services: [
              { id: 'notes', mcp: upstream.url, shared: true, auth: { type: 'oauth2' } },
              // The same server with the operator's scopes as the ceiling of what its connections are asked for.
              { id: 'capped', mcp: upstream.url, shared: true, auth: { type: 'oauth2', scopes: ['notes:read'] } },
              // The same server per user: each caller's calls carry their own connection's token (listed with the
              // connection of subject shared, as every per-user federated service is).
              { id: 'mine', mcp: upstream.url, auth: { type: 'oauth2' } },
            ],
            toolsets: [{ id: 'all', tools: ['*'], access: 'write', approval: 'none', unprefixed: ['notes'] }],
            clientKeys: [
              { name: 'agent', key: clientKey, toolsets: ['all'], subject: 'alice' },
              { name: 'bob', key: bobKey, toolsets: ['all'], subject: 'bob' },
            ],
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

  const client = (key = clientKey) => connectClientV1(`${gateway.url}/mcp/acme/all`, key, 'federation-step-up');

  /** The scopes an authorization request in Chromium asked for, the person signing in at the provider as `login`. */
  async function consent(url: string, name: string, login?: string): Promise<string[]> {
    const done = await connectInChromium(browser, url, name, undefined, login);
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
      const error = toolErrorOf(refused);
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
      expect(toolErrorOf(elicited).details['reason']).toBe('shared');

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

  it("per-user service: the step-up link is for the caller's own connection, the caller consents and the call works with the widened scopes; another user's connection is never widened or linked; a challenge for scopes already granted answers without a link", async () => {
    const urlElicitation = { 'io.modelcontextprotocol/clientCapabilities': { elicitation: { url: {} } } };
    const linkOf = async (url: string) => {
      const id = decodeURIComponent(new URL(url).pathname.replace(/^\/connect\//, ''));
      return gateway.adapters.store.connectFlow.getLink('acme', id);
    };
    const connections = gateway.adapters.store.connections;
    /** The account and scopes of the token in an `Authorization` header the upstream received. */
    const tokenOf = async (header: string | undefined) => {
      const found = await as.provider.AccessToken.find((header ?? '').replace(/^Bearer /, ''));
      return { account: found?.accountId, scopes: (found?.scope ?? '').split(' ').sort() };
    };
    /** A caller's first call finds no connection of their own: they follow its connect link as `login`. */
    const connectOwn = async (mcp: Awaited<ReturnType<typeof client>>, login: string, name: string) => {
      const first = (await mcp.callTool({ name: 'mine_read_note', arguments: {} })).structuredContent as {
        error: ToolError;
      };
      expect(first.error.code).toBe('connection_required');
      expect(await consent(String(first.error.details['connectUrl']), name, login)).toEqual(['notes:read']);
      expect((await mcp.callTool({ name: 'mine_read_note', arguments: {} })).content).toEqual([
        { type: 'text', text: 'a note' },
      ]);
    };

    // An operator connects the shared account, which lists the server's tools for the per-user service.
    expect(await consent(await adminLink('mine'), 'federation-step-up-5-mine-listing', 'operator@example.com')).toEqual(
      ['notes:read'],
    );
    const alice = await client();
    const bob = await client(bobKey);
    try {
      await connectOwn(alice, 'alice@example.com', 'federation-step-up-5-alice-connect');
      await connectOwn(bob, 'bob@example.com', 'federation-step-up-5-bob-connect');

      const refused = await alice.callTool({ name: 'mine_write_note', arguments: {} });
      expect(refused.isError).toBe(true);
      const error = toolErrorOf(refused);
      expect(error.code).toBe('upstream_insufficient_scope');
      expect(error.details).toMatchObject({
        service: 'mine',
        status: 403,
        missingScopes: ['notes:write'],
        grantedScopes: ['notes:read'],
      });
      expect(error.details['reason']).toBeUndefined();
      const stepUpUrl = String(error.details['stepUpUrl']);
      expect(stepUpUrl).toMatch(new RegExp(`^${gateway.url}/connect/acme\\.[^?]+\\?sig=`));
      expect(error.message).toContain(stepUpUrl);
      expect(await linkOf(stepUpUrl)).toMatchObject({
        service: 'mine',
        subject: 'alice',
        scopes: ['notes:read', 'notes:write'],
      });
      expect(await lastRecord('mine_write_note')).toMatchObject({
        code: 'upstream_insufficient_scope',
        decision: 'deny',
      });

      // A 401 challenge is the same step-up, and no refresh is tried for it (a refresh cannot widen a grant).
      const tokenRequests = as.tokenAnswers.length;
      const by401 = (
        (await alice.callTool({ name: 'mine_publish_note', arguments: {} })).structuredContent as {
          error: ToolError;
        }
      ).error;
      expect(by401.code).toBe('upstream_insufficient_scope');
      expect(by401.details).toMatchObject({ status: 401, missingScopes: ['notes:write'] });
      expect(await linkOf(String(by401.details['stepUpUrl']))).toMatchObject({
        subject: 'alice',
        scopes: ['notes:read', 'notes:write'],
      });
      expect(as.tokenAnswers.length).toBe(tokenRequests);

      // A client declaring URL elicitation gets the step-up link as -32042, for the same connection.
      const elicited = await alice
        .callTool({ name: 'mine_write_note', arguments: {}, _meta: urlElicitation })
        .catch((e: unknown) => e);
      expect(elicited).toMatchObject({ code: -32042 });
      const elicitation = (elicited as { data?: { elicitations?: { mode: string; url: string }[] } }).data
        ?.elicitations?.[0];
      expect(elicitation?.mode).toBe('url');
      expect(await linkOf(elicitation?.url ?? '')).toMatchObject({
        subject: 'alice',
        scopes: ['notes:read', 'notes:write'],
      });

      // A 2026-07-28 client declaring URL elicitation (the official 2.x SDK) is asked to open the same step-up link
      // (connect_link_no_elicitation_2026); declining it ends the call with the step-up's tool error.
      const asked: Elicited[] = [];
      const modern = await connectUrlElicitingClient(
        `${gateway.url}/mcp/acme/all`,
        clientKey,
        async (request) => {
          asked.push(request);
          return 'decline';
        },
        { name: 'federation-step-up-2026' },
      );
      try {
        const declined = await modern.callTool({ name: 'mine_write_note', arguments: {} });
        expect(declined.isError).toBe(true);
        expect((declined.structuredContent as { error: ToolError }).error.code).toBe('upstream_insufficient_scope');
        expect(asked).toHaveLength(1);
        expect(asked[0]?.mode).toBe('url');
        expect(asked[0]?.message).toContain('notes:write');
        expect(await linkOf(asked[0]?.url ?? '')).toMatchObject({
          subject: 'alice',
          scopes: ['notes:read', 'notes:write'],
        });
      } finally {
        await modern.close();
      }

      // Bob's refusal links his own connection, asking what his grant lacks, not what Alice's holds.
      const bobs = (
        (await bob.callTool({ name: 'mine_write_note', arguments: {} })).structuredContent as {
          error: ToolError;
        }
      ).error;
      expect(bobs.code).toBe('upstream_insufficient_scope');
      expect(await linkOf(String(bobs.details['stepUpUrl']))).toMatchObject({ subject: 'bob' });

      // Alice follows the link of her elicitation herself: she is asked the granted plus the challenged scopes.
      expect(await consent(elicitation?.url ?? '', 'federation-step-up-5-alice-step-up', 'alice@example.com')).toEqual([
        'notes:read',
        'notes:write',
      ]);
      expect((await connections.find('acme', 'mine', 'alice'))?.scopes.slice().sort()).toEqual([
        'notes:read',
        'notes:write',
      ]);
      const before = challenged.length;
      expect((await alice.callTool({ name: 'mine_write_note', arguments: {} })).content).toEqual([
        { type: 'text', text: 'written' },
      ]);
      expect(challenged.length).toBe(before);
      expect(await tokenOf(upstream.calls.filter((c) => c.name === 'write_note').at(-1)?.authorization)).toEqual({
        account: 'alice@example.com',
        scopes: ['notes:read', 'notes:write'],
      });
      expect(await lastRecord('mine_write_note')).toMatchObject({ code: null, decision: 'allow' });
      expect((await alice.callTool({ name: 'mine_publish_note', arguments: {} })).content).toEqual([
        { type: 'text', text: 'published' },
      ]);

      // Neither Bob's connection nor the shared one was widened by Alice's consent; Bob is still refused.
      expect((await connections.find('acme', 'mine', 'bob'))?.scopes).toEqual(['notes:read']);
      expect((await connections.find('acme', 'mine', 'shared'))?.scopes).toEqual(['notes:read']);
      const bobAgain = (
        (await bob.callTool({ name: 'mine_write_note', arguments: {} })).structuredContent as {
          error: ToolError;
        }
      ).error;
      expect(bobAgain.code).toBe('upstream_insufficient_scope');
      expect(challenged.at(-1)).toBe('write_note');
      expect(await tokenOf(challengedWith.at(-1))).toEqual({ account: 'bob@example.com', scopes: ['notes:read'] });

      // No loop: a server refusing a scope the connection holds gets no link, neither as a tool error nor as -32042.
      for (const meta of [undefined, urlElicitation]) {
        const stuck = await alice.callTool({
          name: 'mine_stubborn_note',
          arguments: {},
          ...(meta === undefined ? {} : { _meta: meta }),
        });
        const again = toolErrorOf(stuck);
        expect(again.code).toBe('upstream_insufficient_scope');
        expect(again.details['stepUpUrl']).toBeUndefined();
        expect(again.details['reason']).toBe('granted');
        expect(again.message).toContain('connecting again would ask for nothing new');
      }
    } finally {
      await alice.close();
      await bob.close();
    }
  }, 90_000);

  it("read_step_up_no_elicitation: a federated prompts/get refused for scope asks for the caller's step-up link as a tool call does: -32042 to a 2025 client declaring URL elicitation, input_required to a 2026-07-28 one (declined: the error; accepted and consented: the prompt); without the declaration the error carries the link", async () => {
    const linkOf = async (url: string) => {
      const id = decodeURIComponent(new URL(url).pathname.replace(/^\/connect\//, ''));
      return gateway.adapters.store.connectFlow.getLink('acme', id);
    };
    // Bob connected his own account with notes:read only (the test above); the draft prompt needs notes:write.
    expect((await gateway.adapters.store.connections.find('acme', 'mine', 'bob'))?.scopes).toEqual(['notes:read']);
    const bob = await client(bobKey);
    try {
      const plain = (await bob.getPrompt({ name: 'mine_draft' }).catch((e: unknown) => e)) as {
        code?: number;
        data?: { code?: string; details?: Record<string, unknown> };
      };
      expect(plain.code).toBe(-32603);
      expect(plain.data?.code).toBe('upstream_insufficient_scope');
      expect(await linkOf(String(plain.data?.details?.['stepUpUrl']))).toMatchObject({ subject: 'bob' });

      const elicited = (await bob
        .getPrompt({
          name: 'mine_draft',
          _meta: { 'io.modelcontextprotocol/clientCapabilities': { elicitation: { url: {} } } },
        })
        .catch((e: unknown) => e)) as { code?: number; data?: { elicitations?: { mode: string; url: string }[] } };
      // Before: -32603, as without the declaration.
      expect(elicited.code).toBe(-32042);
      expect(elicited.data?.elicitations?.[0]?.mode).toBe('url');
      expect(await linkOf(elicited.data?.elicitations?.[0]?.url ?? '')).toMatchObject({
        subject: 'bob',
        scopes: ['notes:read', 'notes:write'],
      });
    } finally {
      await bob.close();
    }

    const asked: Elicited[] = [];
    const modern = await connectUrlElicitingClient(`${gateway.url}/mcp/acme/all`, bobKey, async (request) => {
      asked.push(request);
      return 'decline';
    });
    try {
      const declined = (await modern.getPrompt({ name: 'mine_draft' }).catch((e: unknown) => e)) as {
        code?: number;
        data?: { code?: string };
      };
      expect(declined.code).toBe(-32603);
      expect(declined.data?.code).toBe('upstream_insufficient_scope');
      // Before: never asked.
      expect(asked).toHaveLength(1);
      expect(asked[0]?.mode).toBe('url');
      expect(asked[0]?.message).toContain('notes:write');
      expect(await linkOf(asked[0]?.url ?? '')).toMatchObject({
        subject: 'bob',
        scopes: ['notes:read', 'notes:write'],
      });
    } finally {
      await modern.close();
    }

    // Bob opens the link he is asked and consents; the client's retry then gets the prompt.
    const accepting = await connectUrlElicitingClient(`${gateway.url}/mcp/acme/all`, bobKey, async (request) => {
      expect(await consent(request.url, 'federation-step-up-6-bob-prompt', 'bob@example.com')).toEqual([
        'notes:read',
        'notes:write',
      ]);
      return 'accept';
    });
    try {
      expect((await accepting.getPrompt({ name: 'mine_draft' })).messages).toHaveLength(1);
      expect((await gateway.adapters.store.connections.find('acme', 'mine', 'bob'))?.scopes.slice().sort()).toEqual([
        'notes:read',
        'notes:write',
      ]);
    } finally {
      await accepting.close();
    }
  }, 60_000);
});
