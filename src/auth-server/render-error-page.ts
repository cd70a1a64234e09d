import { escapeHtml } from '../core/index.ts';

/** The headers of every page the authorization server renders itself: no caching, framing, scripts or referrer. */
export const errorPageHeaders = {
  'cache-control': 'no-store',
  'referrer-policy': 'no-referrer',
  'x-frame-options': 'DENY',
  'x-content-type-options': 'nosniff',
  'content-security-policy': "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'",
} as const;

/**
 * The page a browser sees when an authorization request cannot go back to the client (an unknown client, a
 * redirect URI that is not the client's, an expired interaction): oidc-provider's `renderError`. It shows the
 * OAuth error code and its description (escaped) and what to do; never a stack, a parameter the request carried
 * or anything else of the request.
 */
export function renderErrorPage(out: { readonly error?: unknown; readonly error_description?: unknown }): string {
  const code = typeof out.error === 'string' ? out.error : 'server_error';
  const description =
    code === 'server_error' || typeof out.error_description !== 'string'
      ? 'The sign-in server failed to answer this request.'
      : out.error_description;
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width">
<title>Sign-in stopped - Gatehouse</title>
<style>body{font:16px system-ui,sans-serif;max-width:40rem;margin:3rem auto;padding:0 1rem}code{background:#f4f4f4;padding:0 .3rem}.problem{color:#a00000}</style>
</head><body><h1>Sign-in stopped</h1>
<p class="problem">${escapeHtml(description)}</p>
<p>Error: <code>${escapeHtml(code)}</code></p>
<p>The app that sent you here asked for something this gateway cannot give, so it was not sent back to the app.
Close this tab, go back to the app and connect again. If it happens again, tell your administrator the error above.</p>
</body></html>`;
}
