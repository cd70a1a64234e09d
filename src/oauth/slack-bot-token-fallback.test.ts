import { describe, expect, it } from 'vitest';
import { processAuthorizationCodeResponse } from './token-requests.ts';

// Breaker 11, finding C: with the slack-authed-user quirk, a code-exchange response whose authed_user carries no
// access_token falls back to the top-level (bot) token and bot scopes (provider-quirks.ts:71-74): the bot token is
// stored as the user's connection, its bot scopes as the user's grant.
const as = { issuer: 'https://slack.com', token_endpoint: 'https://slack.com/api/oauth.v2.access' };
const client = {
  clientId: 'c1',
  clientSecret: undefined,
  provider: { scopeSeparator: ',' as const, quirks: ['slack-authed-user' as const] },
};
const clock = { now: () => 1_000_000, monotonic: () => 0 };

describe('breaker11: Slack authed_user', () => {
  it('a code exchange with no user token is refused, never stored as the user token', async () => {
    const body = {
      ok: true,
      access_token: 'xoxb-bot-token-canary',
      token_type: 'bot',
      scope: 'chat:write,channels:history,users:read',
      bot_user_id: 'UBOT',
      authed_user: { id: 'U123' },
    };
    const response = new Response(JSON.stringify(body), {
      status: 200,
      headers: { 'content-type': 'application/json' },
    });
    const outcome = await processAuthorizationCodeResponse(as, client, response, clock).then(
      (tokens) => tokens,
      (error: unknown) => error as { code?: string; details?: Record<string, unknown>; message?: string },
    );
    expect(outcome).toMatchObject({ code: 'oauth_token_failed', details: { reason: 'no_user_token' } });
    expect(JSON.stringify(outcome)).not.toContain('xoxb-bot-token-canary');
    expect(String((outcome as { message?: string }).message)).not.toContain('xoxb');
  });
});
