import { createHash, randomBytes } from 'node:crypto';
import { createServer, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/** A client metadata document the server fetched while answering an authorization request. */
export interface FetchedDocument {
  readonly clientId: string;
  readonly status: number;
  readonly document: Record<string, unknown> | undefined;
}

export interface MetadataDocumentAuthorizationServer {
  /** The issuer: `http://127.0.0.1:{port}`. */
  readonly url: string;
  /** Every client metadata document fetch, in order. */
  readonly fetched: FetchedDocument[];
  /** The query of every authorization request, in order. */
  readonly authorizeRequests: URLSearchParams[];
  /** Every `/register` request (refused when `registration` is off). */
  readonly registrations: Record<string, unknown>[];
  /** Every `/token` request body, in order, with whether it carried client authentication. */
  readonly tokenRequests: { form: URLSearchParams; authenticated: boolean }[];
  /** Authorization requests refused, with the reason shown on the error page. */
  readonly refusals: string[];
  /** Whether `token` is a live access token this server issued for `resource`. */
  accepts(token: string | undefined, resource: string): boolean;
  close(): Promise<void>;
}

export interface MetadataDocumentServerOptions {
  /** Advertise `client_id_metadata_document_supported` and resolve URL client ids by fetching them. */
  readonly metadataDocuments: boolean;
  /** Answer dynamic client registration (RFC 7591); off, `/register` answers 400 (it stays advertised). */
  readonly registration: boolean;
  /** Access token lifetime, seconds (default 3600). */
  readonly accessTokenTtl?: number;
}

interface Client {
  readonly clientId: string;
  readonly clientSecret?: string;
  readonly redirectUris: readonly string[];
}

interface Grant {
  readonly clientId: string;
  readonly redirectUri: string;
  readonly challenge: string;
  readonly resource: string;
  readonly scope: string;
}

/**
 * An OAuth authorization server on 127.0.0.1 (port 0) that does what oidc-provider cannot be made to do over plain
 * http on loopback: Client ID Metadata Documents (draft-ietf-oauth-client-id-metadata-document). A `client_id` that
 * is a URL is fetched during the authorization request (no redirects, 5 KB at most, 5 s), and the request is
 * refused unless the document's `client_id` equals the URL, it names no secret and `token_endpoint_auth_method` is
 * `none`, and `redirect_uri` is one of its `redirect_uris`, byte for byte. The consent page is a form with one
 * Allow button; codes are bound to client, redirect URI, PKCE challenge (S256 only) and `resource`; the token
 * endpoint checks them all and issues opaque tokens for that resource. Dynamic registration is advertised always
 * and answered only when `registration` is on, so a client that registers when it should not is seen.
 */
export async function startMetadataDocumentAuthorizationServer(
  options: MetadataDocumentServerOptions,
): Promise<MetadataDocumentAuthorizationServer> {
  const fetched: FetchedDocument[] = [];
  const authorizeRequests: URLSearchParams[] = [];
  const registrations: Record<string, unknown>[] = [];
  const tokenRequests: { form: URLSearchParams; authenticated: boolean }[] = [];
  const refusals: string[] = [];
  const registered = new Map<string, Client>();
  const pending = new Map<string, Grant & { state: string }>();
  const codes = new Map<string, Grant>();
  const refreshTokens = new Map<string, Grant>();
  const accessTokens = new Map<string, { resource: string; expiresAt: number }>();
  const ttl = options.accessTokenTtl ?? 3600;
  let url = '';

  const json = (res: ServerResponse, status: number, body: unknown) =>
    res
      .writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store' })
      .end(JSON.stringify(body));
  const page = (res: ServerResponse, status: number, body: string) =>
    res
      .writeHead(status, { 'content-type': 'text/html; charset=utf-8' })
      .end(`<!doctype html><html><body>${body}</body></html>`);
  const escapeHtml = (value: string) => value.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

  /** The client a `client_id` names: fetched from its URL (metadata documents on), or registered. */
  async function clientOf(clientId: string): Promise<Client | string> {
    if (options.metadataDocuments && /^https?:\/\//.test(clientId)) {
      let response: Response;
      try {
        response = await fetch(clientId, {
          redirect: 'manual',
          signal: AbortSignal.timeout(5_000),
          headers: { accept: 'application/json' },
        });
      } catch {
        fetched.push({ clientId, status: 0, document: undefined });
        return 'the client metadata document could not be fetched';
      }
      const text = await response.text();
      const document = response.status === 200 && text.length <= 5 * 1024 ? parseObject(text) : undefined;
      fetched.push({ clientId, status: response.status, document });
      if (document === undefined) return `the client metadata document answered ${response.status}`;
      if (document['client_id'] !== clientId) return 'the document client_id is not its URL';
      if ('client_secret' in document || document['token_endpoint_auth_method'] !== 'none') {
        return 'the document names a client secret or an authentication method other than none';
      }
      const uris = document['redirect_uris'];
      if (!Array.isArray(uris) || !uris.every((u) => typeof u === 'string')) return 'the document has no redirect_uris';
      return { clientId, redirectUris: uris as string[] };
    }
    return registered.get(clientId) ?? `unknown client ${clientId}`;
  }

  const server = createServer(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const chunk of req as AsyncIterable<Buffer>) chunks.push(chunk);
    const requestUrl = new URL(req.url ?? '/', url);
    const path = requestUrl.pathname;
    const body = Buffer.concat(chunks).toString('utf8');
    try {
      if (path === '/.well-known/oauth-authorization-server' && req.method === 'GET') {
        return json(res, 200, {
          issuer: url,
          authorization_endpoint: `${url}/authorize`,
          token_endpoint: `${url}/token`,
          registration_endpoint: `${url}/register`,
          response_types_supported: ['code'],
          grant_types_supported: ['authorization_code', 'refresh_token'],
          code_challenge_methods_supported: ['S256'],
          token_endpoint_auth_methods_supported: ['none', 'client_secret_basic'],
          authorization_response_iss_parameter_supported: true,
          ...(options.metadataDocuments ? { client_id_metadata_document_supported: true } : {}),
        });
      }
      if (path === '/register' && req.method === 'POST') {
        const metadata = parseObject(body) ?? {};
        registrations.push(metadata);
        if (!options.registration) {
          return json(res, 400, { error: 'invalid_client_metadata', error_description: 'registration is closed' });
        }
        const client: Client = {
          clientId: `registered-${registrations.length}`,
          clientSecret: randomBytes(24).toString('base64url'),
          redirectUris: (metadata['redirect_uris'] as string[] | undefined) ?? [],
        };
        registered.set(client.clientId, client);
        return json(res, 201, {
          ...metadata,
          client_id: client.clientId,
          client_secret: client.clientSecret,
          client_secret_expires_at: 0,
        });
      }
      if (path === '/authorize' && req.method === 'GET') {
        const query = requestUrl.searchParams;
        authorizeRequests.push(query);
        const refuse = (reason: string) => {
          refusals.push(reason);
          return page(res, 400, `<h1>Authorization refused</h1><p id="reason">${escapeHtml(reason)}</p>`);
        };
        if (query.get('response_type') !== 'code') return refuse('response_type must be code');
        if (query.get('code_challenge_method') !== 'S256' || !query.get('code_challenge'))
          return refuse('PKCE S256 is required');
        const client = await clientOf(query.get('client_id') ?? '');
        if (typeof client === 'string') return refuse(client);
        const redirectUri = query.get('redirect_uri') ?? '';
        if (!client.redirectUris.includes(redirectUri)) return refuse(`redirect_uri ${redirectUri} is not registered`);
        const id = randomBytes(12).toString('base64url');
        pending.set(id, {
          clientId: client.clientId,
          redirectUri,
          challenge: query.get('code_challenge') ?? '',
          resource: query.get('resource') ?? '',
          scope: query.get('scope') ?? '',
          state: query.get('state') ?? '',
        });
        const named = fetched.findLast((f) => f.clientId === client.clientId)?.document?.['client_name'];
        return page(
          res,
          200,
          `<h1>Allow ${escapeHtml(String(named ?? client.clientId))} to use your notes?</h1>` +
            `<p>Scopes: ${escapeHtml(query.get('scope') ?? '')}</p>` +
            `<form method="post" action="/authorize/decide"><input type="hidden" name="request" value="${id}">` +
            `<button type="submit">Allow</button></form>`,
        );
      }
      if (path === '/authorize/decide' && req.method === 'POST') {
        const id = new URLSearchParams(body).get('request') ?? '';
        const grant = pending.get(id);
        if (grant === undefined) return page(res, 400, '<p>unknown request</p>');
        pending.delete(id);
        const code = randomBytes(24).toString('base64url');
        codes.set(code, grant);
        const back = new URL(grant.redirectUri);
        back.searchParams.set('code', code);
        back.searchParams.set('state', grant.state);
        back.searchParams.set('iss', url);
        return res.writeHead(303, { location: back.href }).end();
      }
      if (path === '/token' && req.method === 'POST') {
        const form = new URLSearchParams(body);
        const basic = /^Basic (.+)$/i.exec(req.headers.authorization ?? '')?.[1];
        tokenRequests.push({ form, authenticated: basic !== undefined || form.has('client_secret') });
        const [basicId, basicSecret] =
          basic === undefined
            ? [undefined, undefined]
            : Buffer.from(basic, 'base64').toString('utf8').split(':').map(decodeURIComponent);
        const clientId = basicId ?? form.get('client_id') ?? '';
        const secret = basicSecret ?? form.get('client_secret') ?? undefined;
        const client = registered.get(clientId);
        // A registered client authenticates with its secret; a metadata document client is public.
        if (
          client !== undefined ? client.clientSecret !== secret : secret !== undefined || !/^https?:\/\//.test(clientId)
        ) {
          return json(res, 401, { error: 'invalid_client' });
        }
        let grant: Grant | undefined;
        if (form.get('grant_type') === 'authorization_code') {
          const code = form.get('code') ?? '';
          grant = codes.get(code);
          codes.delete(code);
          const verifier = form.get('code_verifier') ?? '';
          const challenge = createHash('sha256').update(verifier).digest('base64url');
          if (
            grant === undefined ||
            grant.clientId !== clientId ||
            grant.redirectUri !== form.get('redirect_uri') ||
            grant.challenge !== challenge ||
            grant.resource !== (form.get('resource') ?? '')
          ) {
            return json(res, 400, { error: 'invalid_grant' });
          }
        } else if (form.get('grant_type') === 'refresh_token') {
          const token = form.get('refresh_token') ?? '';
          grant = refreshTokens.get(token);
          if (grant === undefined || grant.clientId !== clientId) return json(res, 400, { error: 'invalid_grant' });
          refreshTokens.delete(token);
        } else {
          return json(res, 400, { error: 'unsupported_grant_type' });
        }
        const accessToken = randomBytes(24).toString('base64url');
        const refreshToken = randomBytes(24).toString('base64url');
        accessTokens.set(accessToken, { resource: grant.resource, expiresAt: Date.now() + ttl * 1000 });
        refreshTokens.set(refreshToken, grant);
        return json(res, 200, {
          access_token: accessToken,
          refresh_token: refreshToken,
          token_type: 'Bearer',
          expires_in: ttl,
          scope: grant.scope,
        });
      }
      res.writeHead(404).end();
    } catch {
      if (!res.headersSent) res.writeHead(500).end();
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url,
    fetched,
    authorizeRequests,
    registrations,
    tokenRequests,
    refusals,
    accepts(token, resource) {
      const found = token === undefined ? undefined : accessTokens.get(token);
      return found !== undefined && found.resource === resource && found.expiresAt > Date.now();
    },
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

function parseObject(text: string): Record<string, unknown> | undefined {
  try {
    const value: unknown = JSON.parse(text);
    return typeof value === 'object' && value !== null && !Array.isArray(value)
      ? (value as Record<string, unknown>)
      : undefined;
  } catch {
    return undefined;
  }
}
