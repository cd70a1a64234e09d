import { isLoopbackUrl, type OAuthFetch } from './create-oauth-fetch.ts';
import type { OAuthServiceAuth } from './oauth-service.ts';
import { createRefreshRequestSender, type RefreshClientSettings, type SendRefresh } from './refresh-request.ts';
import { type ResolvedAuthorizationServer, resolveAuthorizationServer } from './resolve-authorization-server.ts';

export interface ServiceRefreshSenderOptions {
  /** The `oauth2` auth block of a service (discovered first for an `mcp:` service); throws when there is none. */
  authOf(tenantId: string, service: string): OAuthServiceAuth | Promise<OAuthServiceAuth>;
  /** The service's client secret (decrypted from the vault), undefined for a public client. */
  readClientSecret(tenantId: string, service: string): Promise<string | undefined>;
  /**
   * The authorization server answered `invalid_client` for `clientId`: true when another client is ready now (a
   * dynamically registered one, registered again), and the refresh is sent once more with it. Absent: never.
   */
  refuseClient?(tenantId: string, service: string, clientId: string): Promise<boolean>;
  /** Timeout of a discovery request, ms. */
  readonly timeoutMs?: number;
  /** Sends discovery and refresh requests (the SSRF-guarded fetch in the gateway); default `fetch`. */
  readonly fetch?: OAuthFetch;
}

/** How long resolved authorization server metadata is reused. */
const metadataTtlMs = 3_600_000;

/**
 * The refresh engine's `SendRefresh` for configured services: the token endpoint from the service's `tokenUrl`
 * or its issuer's discovery (cached an hour), the client id and secret of the service (client_secret_basic,
 * or client_secret_post where the server supports only that), `resource` when configured. Plain `http:` only
 * for loopback token URLs, as in the connect flow.
 */
export function createServiceRefreshSender(options: ServiceRefreshSenderOptions): SendRefresh {
  const servers = new Map<string, { at: number; server: Promise<ResolvedAuthorizationServer> }>();
  const serverOf = (tenantId: string, service: string, auth: OAuthServiceAuth) => {
    const key = `${tenantId}\u0000${service}`;
    const cached = servers.get(key);
    if (cached !== undefined && Date.now() - cached.at < metadataTtlMs) return cached.server;
    const server = resolveAuthorizationServer(auth, options.timeoutMs, options.fetch);
    servers.set(key, { at: Date.now(), server });
    server.catch(() => servers.delete(key));
    return server;
  };
  const clientOf = async (tenantId: string, service: string): Promise<RefreshClientSettings> => {
    const auth = await options.authOf(tenantId, service);
    const { metadata } = await serverOf(tenantId, service, auth);
    const tokenUrl = metadata.token_endpoint ?? auth.tokenUrl ?? '';
    const clientSecret = await options.readClientSecret(tenantId, service);
    const methods = metadata.token_endpoint_auth_methods_supported;
    const postOnly =
      methods !== undefined && !methods.includes('client_secret_basic') && methods.includes('client_secret_post');
    return {
      tokenUrl,
      issuer: metadata.issuer,
      clientId: auth.clientId,
      ...(clientSecret === undefined ? {} : { clientSecret }),
      authMethod:
        clientSecret === undefined
          ? 'none'
          : (auth.tokenEndpointAuthMethod ?? (postOnly ? 'client_secret_post' : 'client_secret_basic')),
      provider: { scopeSeparator: auth.scopeSeparator, quirks: auth.quirks },
      ...(auth.resource === undefined ? {} : { resource: auth.resource }),
      unsafeAllowHttp: isLoopbackUrl(tokenUrl),
      ...(options.fetch === undefined ? {} : { fetch: options.fetch }),
    };
  };
  return async (request) => {
    let clientId: string | undefined;
    const send = createRefreshRequestSender(async (tenantId, service) => {
      const settings = await clientOf(tenantId, service);
      clientId = settings.clientId;
      return settings;
    });
    const outcome = await send(request);
    if (outcome.kind !== 'failed' || outcome.reason !== 'invalid_client' || clientId === undefined) return outcome;
    // A refused registered client is registered again: one more try with the new one. The refresh token was
    // issued to the old client, so a server that binds them answers invalid_grant (the person connects again).
    const renewed = await options.refuseClient?.(request.tenantId, request.connection.service, clientId);
    return renewed === true ? send(request) : outcome;
  };
}
