/**
 * The slice of oidc-provider 9 Gatehouse uses (the package ships no types and @types/oidc-provider is not
 * installed). Written from its documented configuration and API (docs/README.md of panva/node-oidc-provider).
 */
declare module 'oidc-provider' {
  import type { IncomingMessage, ServerResponse } from 'node:http';

  /** What `new Adapter(model)` must offer (the provider's storage interface). */
  export interface AdapterPayload extends Record<string, unknown> {
    readonly accountId?: string;
    readonly clientId?: string;
    readonly grantId?: string;
    readonly uid?: string;
    readonly aud?: string | string[];
    readonly consumed?: number;
    readonly exp?: number;
  }
  export interface Adapter {
    upsert(id: string, payload: AdapterPayload, expiresIn: number): Promise<void>;
    find(id: string): Promise<AdapterPayload | undefined>;
    findByUserCode(userCode: string): Promise<AdapterPayload | undefined>;
    findByUid(uid: string): Promise<AdapterPayload | undefined>;
    consume(id: string): Promise<void>;
    destroy(id: string): Promise<void>;
    revokeByGrantId(grantId: string): Promise<void>;
  }
  export type AdapterConstructor = new (model: string) => Adapter;

  export interface ProviderClient {
    readonly clientId: string;
    readonly clientSecret?: string;
    readonly clientName?: string;
    readonly redirectUris?: readonly string[];
    readonly clientIdMetadataDocument?: boolean;
    grantTypeAllowed(grant: string): boolean;
    metadata(): Record<string, unknown>;
  }

  export interface AccessTokenModel {
    readonly isExpired: boolean;
    readonly scope?: string;
    readonly accountId?: string;
    /** The resource (RFC 8707) the token was issued for. */
    readonly aud?: string | readonly string[];
    destroy(): Promise<void>;
  }

  export interface GrantModel {
    readonly jti: string;
    addOIDCScope(scope: string): void;
    addResourceScope(resource: string, scope: string): void;
    save(): Promise<string>;
  }

  export interface InteractionDetails {
    readonly uid: string;
    readonly prompt: { readonly name: string; readonly reasons: readonly string[] };
    readonly params: Readonly<Record<string, unknown>> & {
      readonly client_id?: string;
      readonly resource?: unknown;
      readonly scope?: string;
    };
    readonly session?: { readonly accountId?: string };
    readonly grantId?: string;
  }

  export interface InteractionResult {
    readonly login?: { readonly accountId: string };
    readonly consent?: { readonly grantId: string };
    readonly error?: string;
    readonly error_description?: string;
  }

  /** The Koa context slice event listeners read. */
  export interface ProviderContext {
    readonly oidc?: { readonly client?: { readonly clientId: string }; readonly entities?: Record<string, unknown> };
    readonly method: string;
    readonly path: string;
  }

  export class OIDCProviderError extends Error {
    readonly error: string;
    readonly error_description?: string;
    readonly status: number;
  }

  export const errors: {
    readonly InvalidTarget: new (description?: string) => OIDCProviderError;
    readonly InvalidRequest: new (description?: string) => OIDCProviderError;
    readonly InvalidClient: new (description?: string) => OIDCProviderError;
    /** `invalid_client_metadata`, or `invalid_redirect_uri` when the description starts with `redirect_uris`. */
    readonly InvalidClientMetadata: new (
      description: string,
    ) => OIDCProviderError;
    readonly AccessDenied: new (description?: string) => OIDCProviderError;
  };

  export default class Provider {
    constructor(
      issuer: string,
      configuration: Record<string, unknown> & {
        adapter?: AdapterConstructor;
        findAccount?: (
          ctx: unknown,
          id: string,
        ) => Promise<{ accountId: string; claims: () => Promise<Record<string, unknown>> }>;
        issueRefreshToken?: (ctx: unknown, client: ProviderClient) => Promise<boolean>;
        /** Renders the HTML error page (a Koa context: `set`, `type`, `body`). */
        renderError?: (
          ctx: { set(name: string, value: string): void; type: string; body: unknown },
          out: { readonly error?: string; readonly error_description?: string },
          error: unknown,
        ) => Promise<void>;
        features?: Record<
          string,
          Record<string, unknown> & {
            getResourceServerInfo?: (
              ctx: unknown,
              resource: string,
              client: ProviderClient,
            ) => Promise<Record<string, unknown>>;
          }
        >;
      },
    );
    proxy: boolean;
    readonly issuer: string;
    callback(): (req: IncomingMessage, res: ServerResponse) => void;
    on(event: string, listener: (...args: never[]) => void): this;
    interactionDetails(req: IncomingMessage, res: ServerResponse): Promise<InteractionDetails>;
    interactionFinished(
      req: IncomingMessage,
      res: ServerResponse,
      result: InteractionResult,
      options?: { mergeWithLastSubmission?: boolean },
    ): Promise<void>;
    readonly AccessToken: { find(token: string): Promise<AccessTokenModel | undefined> };
    readonly RefreshToken: { find(token: string): Promise<{ destroy(): Promise<void> } | undefined> };
    readonly Client: { find(id: string): Promise<ProviderClient | undefined> };
    readonly Interaction: { find(uid: string): Promise<{ readonly params: Record<string, unknown> } | undefined> };
    readonly Grant: (new (init: {
      accountId: string;
      clientId: string;
    }) => GrantModel) & {
      find(id: string): Promise<GrantModel | undefined>;
    };
  }
}

/**
 * The AsyncLocalStorage oidc-provider runs each of its requests in (`als.run(ctx, ...)` in its app). Gatehouse
 * only disables it between requests: see `create-auth-server.ts`.
 */
declare module 'oidc-provider/lib/helpers/als.js' {
  import type { AsyncLocalStorage } from 'node:async_hooks';

  const als: AsyncLocalStorage<unknown>;
  export default als;
}
