import { describe, expect, it } from 'vitest';
import { processAuthorizationCodeResponse } from './token-requests.ts';

// A newcomer's trial (issue 11): Shopify answers the code exchange with only access_token and scope, no
// token_type; the connect failed with oauth_token_failed and the log gave no reason.
const as = {
  issuer: 'https://acme.myshopify.com',
  token_endpoint: 'https://acme.myshopify.com/admin/oauth/access_token',
};
const clock = { now: () => 1_000_000, monotonic: () => 0 };
const answer = () =>
  new Response(JSON.stringify({ access_token: 'shpat-canary-0123456789', scope: 'read_products,read_orders' }), {
    status: 200,
    headers: { 'content-type': 'application/json' },
  });

describe('a token response without token_type', () => {
  it('is read as a bearer token for a provider with the no-token-type quirk', async () => {
    const client = {
      clientId: 'c1',
      clientSecret: undefined,
      provider: { scopeSeparator: ',' as const, quirks: ['no-token-type' as const] },
    };
    const tokens = await processAuthorizationCodeResponse(as, client, answer(), clock);
    expect(tokens.accessToken).toBe('shpat-canary-0123456789');
    expect(tokens.scopes).toEqual(['read_products', 'read_orders']);
  });

  it('fails elsewhere with oauth_token_failed naming the field in details.validation, never the token', async () => {
    const client = { clientId: 'c1', clientSecret: undefined };
    const error = await processAuthorizationCodeResponse(as, client, answer(), clock).then(
      () => undefined,
      (e: unknown) => e as { code?: string; details?: Record<string, unknown> },
    );
    expect(error).toMatchObject({ code: 'oauth_token_failed' });
    expect(String(error?.details?.['validation'])).toContain('token_type');
    expect(JSON.stringify(error?.details)).not.toContain('shpat-canary');
  });
});
