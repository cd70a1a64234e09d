import { describe, expect, it } from 'vitest';
import { renderConsentBody } from './create-oauth-server-routes.ts';

describe('the consent page', () => {
  it('breaker finding 1: bidi in client_name is marked on the consent page', () => {
    const html = renderConsentBody(
      {
        tenant: 'acme',
        toolset: 'reader',
        toolsetUrl: 'https://gw.example.com/mcp/acme/reader',
        client: { id: 'c1', name: 'Good app \u202E(deifirev)', verified: false },
        tools: [],
        accounts: [],
        returnsTo: 'https://app.example.com',
      },
      'Alice',
    );
    // The override cannot reach the page: it is shown as a visible mark, so the warning reads as written.
    expect(html).not.toContain('\u202E');
    expect(html).toContain('<mark class="ctl">U+202E</mark>');
    expect(html).toContain('<em>(unverified: the app describes itself)</em>');
  });
});
