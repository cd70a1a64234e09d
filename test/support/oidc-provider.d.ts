/** The slice of oidc-provider 9 the tests use (the package ships no types and @types/oidc-provider is not installed). */
declare module 'oidc-provider' {
  import type { IncomingMessage, ServerResponse } from 'node:http';

  interface ProviderClient {
    grantTypeAllowed(grant: string): boolean;
  }

  interface AccessTokenModel {
    readonly isExpired: boolean;
    readonly scope?: string;
    readonly accountId?: string;
  }

  export default class Provider {
    constructor(
      issuer: string,
      configuration: Record<string, unknown> & {
        findAccount?: (
          ctx: unknown,
          id: string,
        ) => Promise<{ accountId: string; claims: () => Promise<Record<string, unknown>> }>;
        issueRefreshToken?: (ctx: unknown, client: ProviderClient) => Promise<boolean>;
        features?: Record<
          string,
          Record<string, unknown> & {
            getResourceServerInfo?: (ctx: unknown, resource: string) => Promise<Record<string, unknown>>;
          }
        >;
      },
    );
    callback(): (req: IncomingMessage, res: ServerResponse) => void;
    on(event: string, listener: (...args: unknown[]) => void): this;
    readonly AccessToken: { find(token: string): Promise<AccessTokenModel | undefined> };
  }
}
