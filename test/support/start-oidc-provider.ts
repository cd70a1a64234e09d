import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import Provider from 'oidc-provider';
import { Agent, fetch as undiciFetch } from 'undici';

export interface OidcProviderOptions {
  /** Redirect URIs registered for the client, exactly. */
  readonly redirectUris: readonly string[];
  readonly clientId: string;
  readonly clientSecret: string;
  /** RFC 8707 resource the API is, and the scopes its tokens may carry. */
  readonly resource: string;
  readonly resourceScopes: readonly string[];
  /** Access-token lifetime in seconds (short, so expiry is exercised). */
  readonly accessTokenTtl?: number;
  /** Port on 127.0.0.1; 0 (a free one) by default. The local OAuth example uses a fixed one. */
  readonly port?: number;
  /** Open dynamic client registration (RFC 7591) at `/reg`. Default off. */
  readonly registration?: boolean;
  /**
   * Accept Client ID Metadata Documents (oidc-provider's `clientIdMetadataDocument`, https client ids only),
   * fetched trusting `ca` (the test's certificate for 127.0.0.1). Default off.
   */
  readonly clientIdMetadataDocuments?: { readonly ca: string };
}

/** Every token endpoint answer, as sent (so tests know the exact tokens to search for). */
export interface TokenAnswer {
  readonly path: string;
  readonly status: number;
  readonly body: Record<string, unknown>;
}

export interface RunningOidcProvider {
  readonly issuer: string;
  readonly provider: Provider;
  readonly tokenAnswers: TokenAnswer[];
  /** Requests per path (`/token`, `/token/revocation` ...). */
  readonly hits: Map<string, number>;
  /** True when `token` is an access token the provider still considers valid, with its scopes. */
  checkAccessToken(token: string): Promise<{ active: boolean; scope?: string; subject?: string }>;
  /**
   * Clients registered from now on get a secret that expires `seconds` after registering, as the registration
   * answer says (`client_secret_expires_at`) and as the token endpoint enforces (`invalid_client` after it);
   * undefined: secrets that never expire (the default).
   */
  expireRegisteredSecretsAfter(seconds: number | undefined): void;
  /** Expires a registered client's secret at the server (an hour ago: past its clock tolerance), whatever its registration answer said. */
  expireClientSecret(clientId: string): Promise<void>;
  close(): Promise<void>;
}

/**
 * `oidc-provider` (a certified OpenID/OAuth server) as the upstream authorization server of the tests, on
 * 127.0.0.1 port 0: authorization code with PKCE required, refresh tokens (rotating), resource indicators with a
 * scope set, short access tokens, revocation, the development login/consent pages.
 */
export async function startOidcProvider(options: OidcProviderOptions): Promise<RunningOidcProvider> {
  let handler: ((req: IncomingMessage, res: ServerResponse) => void) | undefined;
  const hits = new Map<string, number>();
  const tokenAnswers: TokenAnswer[] = [];
  const server: Server = createServer((req, res) => {
    const path = new URL(req.url ?? '/', 'http://as').pathname;
    hits.set(path, (hits.get(path) ?? 0) + 1);
    if (path === '/token') tapJson(res, (status, body) => tokenAnswers.push({ path, status, body }));
    handler?.(req, res);
  });
  await new Promise<void>((resolve) => server.listen(options.port ?? 0, '127.0.0.1', resolve));
  const issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const provider = new Provider(issuer, {
    clients: [
      {
        client_id: options.clientId,
        client_secret: options.clientSecret,
        redirect_uris: [...options.redirectUris],
        grant_types: ['authorization_code', 'refresh_token', 'client_credentials'],
        response_types: ['code'],
        token_endpoint_auth_method: 'client_secret_basic',
      },
    ],
    findAccount: async (_ctx, id) => ({ accountId: id, claims: async () => ({ sub: id }) }),
    pkce: { required: () => true },
    ttl: { AccessToken: options.accessTokenTtl ?? 60 },
    rotateRefreshToken: true,
    issueRefreshToken: async (_ctx, client) => client.grantTypeAllowed('refresh_token'),
    features: {
      devInteractions: { enabled: true },
      revocation: { enabled: true },
      registration: { enabled: options.registration === true },
      clientIdMetadataDocument: { enabled: options.clientIdMetadataDocuments !== undefined, ack: 'draft-02' },
      introspection: { enabled: true },
      clientCredentials: { enabled: true },
      resourceIndicators: {
        enabled: true,
        defaultResource: async () => options.resource,
        useGrantedResource: async () => true,
        getResourceServerInfo: async (_ctx, resource) => {
          if (resource !== options.resource) throw new Error('unknown resource');
          return { scope: options.resourceScopes.join(' '), accessTokenFormat: 'opaque' };
        },
      },
    },
    cookies: { keys: ['test-cookie-key-0123456789abcdef'] },
    ...(options.clientIdMetadataDocuments === undefined
      ? {}
      : { fetch: trustingFetch(options.clientIdMetadataDocuments.ca) }),
  });
  // Silence the development-feature warnings and per-request errors the tests provoke on purpose.
  provider.on('server_error', () => {});
  let secretTtl: number | undefined;
  // Registered clients live in the provider's adapter (the in-memory one); a client found again is rebuilt from it.
  const clients = (provider.Client as unknown as { adapter: ClientAdapter }).adapter;
  const patchClient = async (clientId: string, patch: Record<string, unknown>) => {
    const stored = await clients.find(clientId);
    if (stored !== undefined) await clients.upsert(clientId, { ...stored, ...patch });
  };
  const registering = new Set<Promise<void>>();
  provider.on('registration_create.success', (ctx: { body: Record<string, unknown> }, client: { clientId: string }) => {
    if (secretTtl === undefined || typeof ctx.body['client_secret'] !== 'string') return;
    const expiresAt = Math.floor(Date.now() / 1000) + secretTtl;
    // The answer is still being written: it says when the secret expires, and the stored client enforces it.
    ctx.body['client_secret_expires_at'] = expiresAt;
    const patched = patchClient(client.clientId, { client_secret_expires_at: expiresAt });
    registering.add(patched);
    void patched.finally(() => registering.delete(patched));
  });
  const callback = provider.callback();
  handler = (req, res) => {
    callback(req, res);
  };
  return {
    issuer,
    provider,
    tokenAnswers,
    hits,
    async checkAccessToken(token) {
      const found = await provider.AccessToken.find(token);
      if (found === undefined || found.isExpired) return { active: false };
      return { active: true, scope: found.scope ?? '', subject: found.accountId };
    },
    expireRegisteredSecretsAfter(seconds) {
      secretTtl = seconds;
    },
    async expireClientSecret(clientId) {
      await Promise.all([...registering]);
      await patchClient(clientId, { client_secret_expires_at: Math.floor(Date.now() / 1000) - 3_600 });
    },
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

interface ClientAdapter {
  find(id: string): Promise<Record<string, unknown> | undefined>;
  upsert(id: string, payload: Record<string, unknown>, expiresIn?: number): Promise<void>;
}

/** Collects a JSON response body as it is written and reports it when the response ends. */
function tapJson(res: ServerResponse, onBody: (status: number, body: Record<string, unknown>) => void): void {
  const chunks: Buffer[] = [];
  const write = res.write.bind(res) as (...args: unknown[]) => boolean;
  const end = res.end.bind(res) as (...args: unknown[]) => ServerResponse;
  res.write = ((chunk: unknown, ...rest: unknown[]) => {
    if (chunk !== undefined && typeof chunk !== 'function') chunks.push(Buffer.from(chunk as string));
    return write(chunk, ...rest);
  }) as typeof res.write;
  res.end = ((chunk?: unknown, ...rest: unknown[]) => {
    if (chunk !== undefined && typeof chunk !== 'function') chunks.push(Buffer.from(chunk as string));
    try {
      onBody(res.statusCode, JSON.parse(Buffer.concat(chunks).toString('utf8')) as Record<string, unknown>);
    } catch {
      // not JSON
    }
    return end(chunk, ...rest);
  }) as typeof res.end;
}

/** A `fetch` that trusts `ca` as well (the certificate a test made for 127.0.0.1). */
function trustingFetch(ca: string): (url: string, init?: RequestInit) => Promise<Response> {
  const dispatcher = new Agent({ connect: { ca } });
  return (url, init) =>
    undiciFetch(url, { ...(init as Parameters<typeof undiciFetch>[1]), dispatcher }) as unknown as Promise<Response>;
}
