import { createHash, randomBytes } from 'node:crypto';

/**
 * Gets an OAuth access token from a running Gatehouse the way an MCP client and its user would, over HTTP only:
 * a user is created through the admin API and sets a password through the invite page, a public client registers
 * (RFC 7591), the authorization request (PKCE, `resource` = the toolset URL) goes through the consent page, and
 * the code is redeemed at the token endpoint. The bench then calls `tools/call` with it next to a client key
 * (S1/S2 `gatehouse-oauth`). Throws with the step that failed.
 */
export async function createOAuthAccessToken(input: {
  origin: string;
  tenant: string;
  toolset: string;
  adminToken: string;
}): Promise<string> {
  const { origin, tenant } = input;
  const cookies = new Map<string, string>();
  const send = async (url: string, init: RequestInit = {}): Promise<Response> => {
    const response = await fetch(new URL(url, origin), {
      ...init,
      redirect: 'manual',
      headers: {
        ...(init.headers as Record<string, string> | undefined),
        cookie: [...cookies].map(([k, v]) => `${k}=${v}`).join('; '),
      },
    });
    for (const line of response.headers.getSetCookie()) {
      const pair = line.split(';')[0] ?? '';
      const eq = pair.indexOf('=');
      if (eq > 0) cookies.set(pair.slice(0, eq), pair.slice(eq + 1));
    }
    return response;
  };
  const form = (body: Record<string, string>): RequestInit => ({
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', origin },
    body: new URLSearchParams(body).toString(),
  });
  const expectStatus = async (step: string, response: Response, statuses: number[]): Promise<Response> => {
    if (!statuses.includes(response.status)) {
      throw new Error(`${step}: HTTP ${response.status} ${(await response.text()).slice(0, 200)}`);
    }
    return response;
  };

  const created = await send(`/api/v1/tenants/${tenant}/users`, {
    method: 'POST',
    headers: { authorization: `Bearer ${input.adminToken}`, 'content-type': 'application/json' },
    body: JSON.stringify({ name: `bench-${randomBytes(4).toString('hex')}` }),
  });
  await expectStatus('create user', created, [201]);
  const invite = ((await created.json()) as { inviteUrl: string }).inviteUrl;
  const invitePage = await (await expectStatus('invite page', await send(invite), [200])).text();
  const csrf = /name="csrf" value="([^"]+)"/.exec(invitePage)?.[1] ?? '';
  const password = randomBytes(18).toString('base64url');
  await expectStatus('set password', await send(invite, form({ csrf, password, confirm: password })), [302, 303]);

  const redirectUri = 'http://127.0.0.1/callback';
  const registered = await send(`/oauth/${tenant}/reg`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      client_name: 'bench',
      redirect_uris: [redirectUri],
      application_type: 'native',
      token_endpoint_auth_method: 'none',
      grant_types: ['authorization_code', 'refresh_token'],
      response_types: ['code'],
    }),
  });
  await expectStatus('register client', registered, [201]);
  const clientId = ((await registered.json()) as { client_id: string }).client_id;

  const verifier = randomBytes(32).toString('base64url');
  const resource = `${origin}/mcp/${tenant}/${input.toolset}`;
  let response = await send(
    `/oauth/${tenant}/auth?${new URLSearchParams({
      client_id: clientId,
      redirect_uri: redirectUri,
      response_type: 'code',
      code_challenge: createHash('sha256').update(verifier).digest('base64url'),
      code_challenge_method: 'S256',
      scope: 'mcp',
      state: randomBytes(8).toString('hex'),
      resource,
    })}`,
  );
  // Redirects to the interaction (consent) page, its POST, the provider's resume, and finally the callback.
  for (let hop = 0; hop < 8; hop++) {
    const location = response.headers.get('location');
    if (location?.startsWith(redirectUri)) {
      const code = new URL(location).searchParams.get('code');
      if (code === null) throw new Error(`authorization: ${location}`);
      const token = await send(`/oauth/${tenant}/token`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({
          grant_type: 'authorization_code',
          code,
          code_verifier: verifier,
          redirect_uri: redirectUri,
          client_id: clientId,
          resource,
        }).toString(),
      });
      await expectStatus('token', token, [200]);
      return ((await token.json()) as { access_token: string }).access_token;
    }
    if (location !== null) response = await send(location);
    else if (response.status === 200 && new URL(response.url).pathname.includes('/interaction/')) {
      response = await send(response.url, form({ decision: 'allow' }));
    } else {
      throw new Error(`authorization: HTTP ${response.status} ${(await response.text()).slice(0, 200)}`);
    }
  }
  throw new Error('authorization: too many redirects');
}
