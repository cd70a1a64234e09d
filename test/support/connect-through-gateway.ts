/**
 * Walks the connect flow against a running gateway the way a browser would, without the authorization page: the
 * admin API creates a link, the link redirects to the authorization server with a state and sets the session
 * cookie, and the callback is called with a code for that state. The token request is the gateway's own, to
 * whatever `/token` the test's authorization server serves.
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
  const opened = await fetch(`${gatewayUrl}${link.pathname}${link.search}`, { redirect: 'manual' });
  const location = opened.headers.get('location');
  if (opened.status !== 302 || location === null) throw new Error(`connect link open: ${opened.status}`);
  const state = new URL(location).searchParams.get('state') ?? '';
  const cookie = (opened.headers.get('set-cookie') ?? '').split(';')[0] ?? '';
  const callback = new URLSearchParams({ code: request.code ?? 'the-code', state });
  const done = await fetch(`${gatewayUrl}/oauth/callback?${callback}`, { headers: { cookie } });
  return { status: done.status, body: await done.text() };
}
