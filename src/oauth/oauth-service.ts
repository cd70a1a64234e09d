import type { ServiceAuthConfig } from '../core/index.ts';

/** The `auth` block of a service whose `type` is `oauth2` (core/config.ts), as configured. */
export type ConfiguredOAuthAuth = Extract<ServiceAuthConfig, { readonly type: 'oauth2' }>;

/**
 * An `oauth2` auth as the connect flow and the refresh engine use it: with its client id, configured, or (an `mcp:`
 * service without one) registered after discovering the server's authorization server.
 */
export type OAuthServiceAuth = ConfiguredOAuthAuth & { readonly clientId: string };

/** Where a token or discovery request goes and how long it may take. */
export interface OAuthHttpOptions {
  /** Whole-request timeout of every request to an authorization server, ms. Default 10,000. */
  readonly timeoutMs?: number;
}

/** Tokens from a token endpoint response, as the connect flow and the refresh engine store them. */
export interface TokenSet {
  readonly accessToken: string;
  /** Absent when the response had none (a refresh then keeps the old one, OA-14). */
  readonly refreshToken?: string;
  /** Epoch ms when the access token expires; null when the response had no `expires_in`. */
  readonly accessExpiresAt: number | null;
  /** The response's `scope` split on spaces; undefined when the response had no `scope` (OA-13). */
  readonly scopes?: readonly string[];
  /** Base URL variables of the connection (Salesforce `instanceUrl`, Atlassian `cloudId`), checked by their rule. */
  readonly variables?: Readonly<Record<string, string>>;
}
