/**
 * Walks the connect flow against a running gateway the way a browser would, without the authorization page: the
 * admin API creates a link for `subject` (a key's subject, no user), the operator signs in with the admin token
 * and confirms the subject on the link's page (a link for a subject that is no user's opens only for an owner/admin
 * or the operator: connect_link_forwarded_connects_other_account), the confirmation redirects to the authorization
 * server with a state and sets the session cookie, and the callback is called with a code for that state. The
 * token request is the gateway's own, to whatever `/token` the test's authorization server serves.
 */
export async function connectThroughGateway(
  gatewayUrl: string,
  adminToken: string,
  request: { tenant: string; service: string; subject: string; code?: string },
): Promise<{ status: number; body: string }> {
  const created = await fetch(`${gatewayUrl}/api/v1/tenants/${request.tenant}/connections`, {
    method: 'POST',
    headers: { authorization: `Bearer ${adminToken}`, 'content-type': 'application/json' },
    body: JSON.stringify({ service: request.service, subject: request.subject }),
  });
  if (created.status !== 201) throw new Error(`connect link: ${created.status} ${await created.text()}`);
  const { authorizeUrl } = (await created.json()) as { authorizeUrl: string };
  const link = new URL(authorizeUrl);
  const operator = await signInAsOperator(gatewayUrl, adminToken);
  const page = await fetch(`${gatewayUrl}${link.pathname}${link.search}`, {
    headers: { cookie: operator },
    redirect: 'manual',
  });
  // A suite that set connectLinks.unsafeLinkAloneConnects gets the redirect at once, without the confirmation.
  const confirmed =
    page.status === 302
      ? page
      : await fetch(`${gatewayUrl}${link.pathname}`, {
          method: 'POST',
          redirect: 'manual',
          headers: { cookie: operator, origin: gatewayUrl, 'content-type': 'application/x-www-form-urlencoded' },
          body: new URLSearchParams({ sig: link.searchParams.get('sig') ?? '', csrf: csrfOf(await page.text()) }),
        });
  const location = confirmed.headers.get('location');
  if (![302, 303].includes(confirmed.status) || location === null) {
    throw new Error(`connect link: ${page.status}, then ${confirmed.status}`);
  }
  const state = new URL(location).searchParams.get('state') ?? '';
  const cookie = (confirmed.headers.get('set-cookie') ?? '').split(';')[0] ?? '';
  const callback = new URLSearchParams({ code: request.code ?? 'the-code', state });
  const done = await fetch(`${gatewayUrl}/oauth/callback?${callback}`, { headers: { cookie } });
  return { status: done.status, body: await done.text() };
}

/** The operator's session cookie (`name=value`), signed in on the sign-in form with the admin token. */
async function signInAsOperator(gatewayUrl: string, adminToken: string): Promise<string> {
  const form = await fetch(`${gatewayUrl}/operator/signin`);
  const formCookie = (form.headers.get('set-cookie') ?? '').split(';')[0] ?? '';
  const signedIn = await fetch(`${gatewayUrl}/operator/signin`, {
    method: 'POST',
    redirect: 'manual',
    headers: { cookie: formCookie, origin: gatewayUrl, 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ csrf: csrfOf(await form.text()), adminToken }),
  });
  const session = signedIn.headers
    .getSetCookie()
    .map((c) => c.split(';')[0] ?? '')
    .find((c) => c.startsWith('gatehouse_operator='));
  if (session === undefined) throw new Error(`operator sign-in: ${signedIn.status}`);
  return session;
}

function csrfOf(html: string): string {
  const csrf = /name="csrf" value="([^"]+)"/.exec(html)?.[1];
  if (csrf === undefined) throw new Error('no CSRF field on the page');
  return csrf;
}
