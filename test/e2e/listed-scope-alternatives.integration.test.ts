import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectThroughGateway } from '../support/connect-through-gateway.ts';
import { postMcp } from '../support/post-mcp.ts';
import { type FakeApi, startFakeApi } from '../support/start-fake-api.ts';
import {
  type ScriptedAuthorizationServer,
  startScriptedAuthorizationServer,
} from '../support/start-scripted-authorization-server.ts';
import { startTestGateway, type TestGateway } from '../support/start-test-gateway.ts';

/**
 * Issue 11: the scopes a link minted by a tool call asks for, for a Slack-like provider whose read tools accept
 * either scope family (`[channels:history] or [groups:history] or [im:history] ...`). When the operator listed the
 * service's scopes, the link asks for every equal alternative among them (public and private channels); when the
 * scopes come from the catalogue (no `scopes:`, the pack's scopes are the ceiling) it asks for the first only, so a
 * default service never asks for private channels or direct messages. Both for a first connect link
 * (connection_required) and for a step-up link (scope_missing, a grant that lacks the tool's scopes). The scripted
 * authorization server answers as Slack's oauth.v2.access does (the user token under `authed_user`).
 */

const adminToken = 'admin-token-listed-alternatives-0123456789';
const keys = {
  ada: 'gatehouse_sk_listed_alternatives_ada_0123456789',
  bob: 'gatehouse_sk_listed_alternatives_bob_012345',
};

let as: ScriptedAuthorizationServer;
let upstream: FakeApi;
let gateway: TestGateway;

beforeAll(async () => {
  as = await startScriptedAuthorizationServer();
  upstream = await startFakeApi();
  let issued = 0;
  as.onToken((request, res) => {
    // The code names the grant: Slack grants the user scopes the person allowed, here `users:read` only.
    const granted = request.form.get('code') === 'users-only' ? 'users:read' : 'channels:read,channels:history';
    issued++;
    res.writeHead(200, { 'content-type': 'application/json' }).end(
      JSON.stringify({
        ok: true,
        app_id: 'A1',
        authed_user: { id: 'U1', scope: granted, access_token: `xoxp-${issued}-${'u'.repeat(24)}`, token_type: 'user' },
        team: { id: 'T1' },
      }),
    );
  });
  const auth = { authorizationUrl: `${as.url}/authorize`, tokenUrl: `${as.url}/token` };
  gateway = await startTestGateway({
    adminToken,
    unsafeAllowPrivateUpstreams: ['127.0.0.1'],
    // This suite tests the OAuth flow, not who opens a link (test/e2e/connect-link-binding): links open alone.
    connectLinks: { unsafeLinkAloneConnects: true },
    tenants: [
      {
        id: 'acme',
        services: [
          {
            // Listed by the operator: public and private channels, never direct messages.
            provider: 'slack',
            clientId: 'slack-client',
            clientSecret: 'slack-client-secret-0123',
            scopes: ['channels:read', 'channels:history', 'groups:read', 'groups:history', 'users:read'],
            baseUrl: `${upstream.url}/slack`,
            auth,
          },
          {
            // No scopes: the catalogue's (defaults plus every scope of the pack, direct messages too) are the ceiling.
            provider: 'slack',
            id: 'packslack',
            clientId: 'slack-client',
            clientSecret: 'slack-client-secret-0123',
            baseUrl: `${upstream.url}/slack`,
            auth,
          },
        ],
        toolsets: [{ id: 'reader', tools: ['*_get_channel_history'], access: 'read' }],
        clientKeys: Object.entries(keys).map(([subject, key]) => ({
          name: subject,
          key,
          toolsets: ['reader'],
          subject,
        })),
      },
    ],
  });
  for (const service of ['slack', 'packslack']) {
    const connected = await connectThroughGateway(gateway.url, adminToken, {
      tenant: 'acme',
      service,
      subject: 'bob',
      code: 'users-only',
    });
    expect(connected.status).toBe(200);
  }
}, 60_000);

afterAll(async () => {
  await gateway?.close();
  await upstream?.close();
  await as?.close();
});

type ToolError = { code: string; message: string; details: Record<string, unknown> };

/** Calls `tool` as `subject` and returns the refusal, which must carry a link in `details[field]`. */
async function refusalOf(subject: keyof typeof keys, tool: string): Promise<ToolError> {
  const answer = await postMcp(`${gateway.url}/mcp/acme/reader`, keys[subject], 'tools/call', {
    name: tool,
    arguments: { channel: 'C0123456789' },
  });
  expect(answer.result?.isError, JSON.stringify(answer)).toBe(true);
  return answer.result?.structuredContent?.['error'] as ToolError;
}

/** The user scopes the authorization request of a connect link asks for (Slack's `user_scope`, comma-separated). */
async function askedScopes(link: unknown): Promise<string[]> {
  const url = new URL(String(link));
  const opened = await fetch(`${gateway.url}${url.pathname}${url.search}`, { redirect: 'manual' });
  expect(opened.status).toBe(302);
  const location = new URL(opened.headers.get('location') ?? '');
  expect(location.origin).toBe(as.url);
  return (location.searchParams.get('user_scope') ?? '').split(',').sort();
}

describe('a link minted by a tool call asks for equal scope alternatives only when the operator listed the scopes', () => {
  it('listed scopes, no connection: the link asks for public and private channels (channels:history and groups:history)', async () => {
    const error = await refusalOf('ada', 'slack_get_channel_history');
    expect(error.code).toBe('connection_required');
    expect(await askedScopes(error.details['connectUrl'])).toEqual(['channels:history', 'groups:history']);
  });

  it('catalogue scopes, no connection: the link asks for the first alternative only (no groups:*, im:*, mpim:*)', async () => {
    const error = await refusalOf('ada', 'packslack_get_channel_history');
    expect(error.code).toBe('connection_required');
    expect(await askedScopes(error.details['connectUrl'])).toEqual(['channels:history']);
  });

  it('listed scopes, a grant without them: the step-up link asks for either family and keeps the grant', async () => {
    const error = await refusalOf('bob', 'slack_get_channel_history');
    expect(error.code).toBe('scope_missing');
    expect(error.details['missingScopes']).toEqual(['channels:history', 'groups:history']);
    expect(error.message).toContain('channels:history or groups:history');
    expect(await askedScopes(error.details['stepUpUrl'])).toEqual(['channels:history', 'groups:history', 'users:read']);
  });

  it('catalogue scopes, a grant without them: the step-up link asks for the first alternative only', async () => {
    const error = await refusalOf('bob', 'packslack_get_channel_history');
    expect(error.code).toBe('scope_missing');
    expect(error.details['missingScopes']).toEqual(['channels:history']);
    expect(await askedScopes(error.details['stepUpUrl'])).toEqual(['channels:history', 'users:read']);
  });
});
