import type { IncomingMessage, ServerResponse } from 'node:http';
import type { McpPromptArgument, McpResource, McpResourceTemplate } from '../catalog/index.ts';
import type {
  CallCancellation,
  GatehouseError,
  JsonSchema,
  TenantConfig,
  TenantDocument,
  ToolAnnotations,
} from '../core/index.ts';
import type { McpCompleteParams, McpLogLevel } from '../upstream/index.ts';
import type { CreatedUser, UserRoles, UserSummary } from '../users/index.ts';
import type { ApprovalTasks } from './create-approval-tasks.ts';
import type { Approvals } from './create-approvals.ts';
import type { FederatedServiceStatus } from './create-federation.ts';
import type { ConnectionSummary, GatewayConnections } from './create-gateway-connections.ts';
import type { TenantConfigs } from './create-tenant-configs.ts';
import type { TenantInspection } from './inspect-tenant.ts';
import type { TenantPurgeReport } from './purge-tenant.ts';
import type { ServiceDescriptions } from './service-descriptions.ts';

/**
 * What the transports (mcp/, http/, cli/) see of the gateway. Every use case lives behind this surface; the
 * transports only translate protocols.
 */

/**
 * The verified caller of one request: derived from the client key or the OAuth access token, never from anything
 * else the client says.
 */
export interface Caller {
  readonly tenant: string;
  readonly toolset: string;
  /** How the caller authenticated: a client key, or an access token of Gatehouse's authorization server. */
  readonly authMethod: 'key' | 'oauth';
  /**
   * Id and display name of the credential: the client key's; for an OAuth token `oauth-grant:<grant id>` and
   * `oauth:<client id>` (so audit records name the OAuth client).
   */
  readonly keyId: string;
  readonly keyName: string;
  /** Whose upstream connections calls use: the key's subject, or the signed-in user's id. */
  readonly subject: string;
  /** OAuth only: the user the token was issued to, and the client it was issued to. */
  readonly userId?: string;
  readonly oauthClientId?: string;
}

/** The consent page's view of one pending authorization. */
export interface ConsentView {
  readonly tenant: string;
  readonly toolset: string;
  readonly toolsetUrl: string;
  /** From the client's metadata; `verified` only for clients registered in the config. */
  readonly client: { readonly id: string; readonly name: string; readonly verified: boolean };
  /** Where the browser goes back to after the choice: the redirect URI's scheme and host (`https://claude.ai`). */
  readonly returnsTo: string;
  readonly tools: readonly { readonly name: string; readonly title: string; readonly access: 'read' | 'write' }[];
  /** The upstream accounts calls will act as: per service, the user's own or the shared one, connected or not. */
  readonly accounts: readonly {
    readonly service: string;
    readonly owner: 'you' | 'shared';
    readonly connected: boolean;
  }[];
}

/** A consent a user gave, as their account page lists it. */
export interface ConsentSummary {
  readonly id: string;
  readonly clientId: string;
  readonly clientName: string;
  readonly toolset: string;
  readonly createdAt: string;
}

/** Gatehouse as the OAuth authorization server of MCP clients (src/auth-server); absent when no toolset uses OAuth. */
export interface GatewayOAuthServer {
  /** Whether the tenant runs one (some toolset accepts `oauth`). */
  serves(tenant: string): boolean;
  /**
   * Serves `/oauth/{tenant}{path}` (authorization, token, registration, revocation, discovery, jwks);
   * `clientAddress` is where the request came from (the HTTP layer's resolved address), for per-address budgets.
   */
  handle(tenant: string, path: string, req: IncomingMessage, res: ServerResponse, clientAddress: string): Promise<void>;
  /** RFC 9728 metadata of a toolset's MCP endpoint; `not_found` when the toolset does not accept OAuth. */
  resourceMetadata(tenant: string, toolset: string): Record<string, unknown>;
  /**
   * RFC 9728 metadata at the root (`/.well-known/oauth-protected-resource`), for clients that look there first:
   * resource = the public URL, every issuer of a tenant that serves OAuth. Tokens are still issued per toolset
   * (the authorization request names the toolset's MCP URL as `resource`).
   */
  rootResourceMetadata(): Record<string, unknown>;
  /**
   * The consent view of interaction `uid` for a signed-in user of its tenant, or undefined when the interaction
   * was already answered here (a remembered consent, or a request the page cannot show: the browser was redirected).
   */
  openInteraction(
    tenant: string,
    uid: string,
    user: SignedInUser,
    req: IncomingMessage,
    res: ServerResponse,
  ): Promise<ConsentView | undefined>;
  /** The user's answer on the consent page; redirects the browser back to the client. */
  decideInteraction(
    tenant: string,
    uid: string,
    user: SignedInUser,
    decision: 'allow' | 'deny',
    req: IncomingMessage,
    res: ServerResponse,
  ): Promise<void>;
  consentsOf(user: SignedInUser): Promise<readonly ConsentSummary[]>;
  /** The app asking in a pending authorization request (for the sign-in page); undefined when none is pending. */
  clientOfInteraction(tenant: string, uid: string): Promise<ConsentView['client'] | undefined>;
  /** Forgets a consent and revokes the tokens it led to; `not_found` for a consent of someone else. */
  revokeConsent(user: SignedInUser, id: string): Promise<void>;
}

/** A tool as listed to an MCP client. */
export interface ListedTool {
  readonly name: string;
  readonly title: string;
  readonly description: string;
  readonly inputSchema: JsonSchema;
  readonly outputSchema?: JsonSchema;
  readonly annotations: ToolAnnotations;
  /** Present on tools the toolset's approval can make wait: such a call may run as a task (2025-11-25 tasks). */
  readonly execution?: { readonly taskSupport: 'optional' };
}

/** A federated resource, resource template or prompt as listed to an MCP client (the server's fields, checked). */
export type ListedResource = McpResource;
export type ListedResourceTemplate = McpResourceTemplate;
export interface ListedPrompt {
  readonly name: string;
  readonly title?: string;
  readonly description?: string;
  readonly arguments?: readonly McpPromptArgument[];
}

/** What a toolset's federated services offer besides tools: what its MCP endpoint declares. */
export interface FederatedCapabilities {
  readonly resources: boolean;
  readonly prompts: boolean;
  /** A prompt or resource it exposes is of a server that answers `completion/complete`. */
  readonly completions: boolean;
  /** It exposes a tool, resource or prompt of a federated server (whose log messages a 2026-07-28 client may ask for). */
  readonly logging: boolean;
}

/**
 * A client's `completion/complete`: `ref` names a prompt as the toolset lists it, or a resource template (or
 * resource) URI as the server lists it; `argument` is the one being completed, `context.arguments` those already
 * given. Sent on as `McpCompleteParams` with the ref as the server knows it.
 */
export type CompletionRequest = McpCompleteParams;

/**
 * The result of a federated `resources/read`, `prompts/get` or `completion/complete`: the server's result (scrubbed,
 * budgeted), or why not (`not_found` for a resource or prompt the toolset does not reach, `invalid_arguments`,
 * upstream errors).
 */
export type FederatedOutcome =
  | { readonly ok: true; readonly result: Readonly<Record<string, unknown>> }
  | { readonly ok: false; readonly error: GatehouseError };

/** A federated server's log message as the client receives it: a known level, its logger name, scrubbed data. */
export interface RelayedLogMessage {
  readonly level: McpLogLevel;
  readonly logger?: string;
  readonly data: unknown;
}

/**
 * What a transport relays between its client and the upstream during one call: the client's cancellation (the
 * upstream request is ended, for HTTP and federated tools), a federated server's progress (to the client's
 * progress token) and its log messages (at the client's log level).
 */
export interface CallRelay {
  /** The client's request `_meta` a federated tool's server receives (keys the gateway owns removed). */
  readonly meta?: Readonly<Record<string, unknown>>;
  /** The transport calls `cancelCall` on it when its client cancels; the send step ends its upstream request. */
  readonly cancellation?: CallCancellation;
  readonly onProgress?: (progress: {
    readonly progress: number;
    readonly total?: number;
    readonly message?: string;
  }) => void;
  /**
   * The client's log level for this call (2026-07-28: `_meta["io.modelcontextprotocol/logLevel"]`): a federated
   * server is asked for its log messages, and each one at that level or more severe reaches `onMessage` scrubbed
   * of the call's credential and bounded (see `relayServerLog`). Absent: the server is asked for none.
   */
  readonly log?: { readonly level: McpLogLevel; readonly onMessage: (message: RelayedLogMessage) => void };
  /**
   * Asks the client what the server asks (`elicitation/create`, `sampling/createMessage`) and answers with the
   * client's result; throws (the server gets that error) when the client did not declare the capability.
   */
  readonly ask?: (request: ServerQuestion) => Promise<Readonly<Record<string, unknown>>>;
}

/** A request a federated server sends its client during a call. */
export interface ServerQuestion {
  readonly method: 'elicitation/create' | 'sampling/createMessage';
  readonly params: Readonly<Record<string, unknown>>;
}

/** The result of a `tools/call`. A failure is still a result (MCP `isError`), except `tool_not_found`. */
export type CallOutcome =
  | {
      readonly ok: true;
      /** JSON object for MCP `structuredContent` (non-object JSON is wrapped as `{ result }`). */
      readonly structuredContent?: Readonly<Record<string, unknown>>;
      /** Text rendering for MCP `content[0].text`. */
      readonly text: string;
      /** Tokens (o200k) of `text`: what the result costs the model's context (metrics, audit). */
      readonly tokens?: number;
      /**
       * Optional: `structuredContent` already serialised (valid JSON, equal in meaning to
       * `JSON.stringify(structuredContent)`), so a transport can write it without serialising again. Any step that
       * changes `structuredContent` must drop it.
       */
      readonly structuredJson?: string;
      /** A federated MCP tool's own content blocks, delivered instead of one text block of `text`. */
      readonly content?: readonly Readonly<Record<string, unknown>>[];
      /** A federated result's `_meta` (gateway-owned keys removed). */
      readonly meta?: Readonly<Record<string, unknown>>;
      /** A federated tool reported its own failure (`isError: true`); its content says what went wrong. */
      readonly isError?: boolean;
    }
  | { readonly ok: false; readonly error: GatehouseError };

/** How a call that needs a person's approval waits for it: in an MCP task (see `ApprovalTasks`). */
export interface CallToolOptions {
  /**
   * The caller waits for the approval in a task: a call that needs one answers `approval_required` without an outcome
   * record; the task writes the call's one record when it ends (with this call's request id).
   */
  readonly awaitsApproval?: boolean;
  /**
   * Ends the call with this error right after the policy's decide step, nothing sent upstream: the approval a task
   * waited for was denied, expired or cancelled. The outcome record names the tool as any other call's does.
   */
  readonly endWith?: GatehouseError;
  /** The client's cancellation (every tool), progress token and answers to a server's questions (federated tools). */
  readonly relay?: CallRelay;
}

export interface Gateway {
  /**
   * Verifies `Authorization: Bearer <client key or access token>` for the endpoint `/mcp/{tenant}/{toolset}`, by
   * the toolset's `inbound` methods. A key of another tenant, a key not allowed on this toolset and a nonexistent
   * endpoint all throw the same `not_found`; a missing or unknown credential, and an access token issued for another
   * toolset or tenant, throw `unauthenticated` (with `details.resourceMetadata` and `details.scope` when the toolset
   * accepts OAuth, for the `WWW-Authenticate` challenge).
   */
  authenticate(tenant: string, toolset: string, authorization: string | undefined): Promise<Caller>;
  listTools(caller: Caller): Promise<readonly ListedTool[]>;
  /** Runs one tool call through policy, credentials, upstream, shaping and audit. Never throws. */
  callTool(
    caller: Caller,
    name: string,
    args: unknown,
    requestId: string,
    options?: CallToolOptions,
  ): Promise<CallOutcome>;
  /**
   * Counts a retry of a relayed call (2026-07-28: the client answering a federated server's question) against the
   * caller's rate limits as a call of `name`, before its answers go anywhere; throws `rate_limited`. Absent in
   * transport-only fakes.
   */
  admitRelayedRetry?(caller: Caller, name: string, args: unknown): Promise<void>;
  /**
   * Federated resources and prompts (remote MCP servers, `mcp:` services) the caller's toolset exposes: what its
   * endpoint declares, the lists (every item; the transport pages them), and one read or get each, audited like a
   * tool call. Absent in transport-only fakes.
   */
  federatedCapabilities?(caller: Caller): FederatedCapabilities;
  listResources?(caller: Caller): readonly ListedResource[];
  listResourceTemplates?(caller: Caller): readonly ListedResourceTemplate[];
  listPrompts?(caller: Caller): readonly ListedPrompt[];
  /** `log`: the client's log level and where the server's messages go (as `CallRelay.log` of a tool call). */
  readResource?(caller: Caller, uri: string, requestId: string, log?: CallRelay['log']): Promise<FederatedOutcome>;
  getPrompt?(
    caller: Caller,
    name: string,
    args: unknown,
    requestId: string,
    log?: CallRelay['log'],
  ): Promise<FederatedOutcome>;
  /** `completion/complete` of a federated prompt's or resource template's argument (`{ completion }`), audited. */
  complete?(caller: Caller, request: CompletionRequest, requestId: string): Promise<FederatedOutcome>;
  /** Store reachable (for /readyz). */
  ready(): Promise<boolean>;
  /**
   * Federated (`mcp:`) services and whether their last listing worked; absent when the config has none. A degraded
   * service never makes the gateway unready: `/readyz` names it and stays 200.
   */
  readonly federation?: { status(): readonly FederatedServiceStatus[] };
  /** Use cases of the admin API (`/api/v1`); the HTTP layer checks the admin token before calling them. */
  readonly admin: GatewayAdmin;
  /** Out-of-band approvals (admin API and approval page only; no MCP tool reaches them). */
  readonly approvals?: Approvals;
  /** Calls that wait for their approval as MCP tasks (absent in transport-only fakes). */
  readonly approvalTasks?: ApprovalTasks;
  /** OAuth connections: the connect flow's browser routes and admin use cases (absent in transport-only fakes). */
  readonly connections?: GatewayConnections;
  /** End users of the tenants: sign-in, sessions, invites, their own connections (absent in transport-only fakes). */
  readonly users?: GatewayUsers;
  /** The authorization server for MCP clients (absent when no toolset accepts `oauth`). */
  readonly oauthServer?: GatewayOAuthServer;
  /** Each tenant's configuration as one versioned document in the store (issue 14; absent in transport fakes). */
  readonly tenantConfigs?: TenantConfigs;
  /** Service descriptions uploaded or fetched through the admin API: preview, fetch, store (issue 14). */
  readonly descriptions?: ServiceDescriptions;
  /** Live changes of a tenant's runtime (issue 14): what `watchTenantConfigs` drives in every process. */
  readonly live?: {
    readonly parseTenant: (document: TenantDocument) => TenantConfig;
    /** The services and toolsets the tenant serves now, with each toolset's `tools/list` token size. */
    inspectTenant(tenantId: string): TenantInspection | undefined;
    /** Reads what a document needs from the store before it is parsed and built (its stored descriptions). */
    prepareTenant(document: TenantDocument): Promise<void>;
    /**
     * Serves `tenant` from the next call on; calls in flight finish on the runtime they began with. A tenant new to
     * this process gets what the start gives the config's tenants first: its services' secrets in the vault and its
     * audit keys; its authorization server, users and connect flow read it from then on.
     */
    replaceTenant(tenant: TenantConfig): Promise<void>;
    removeTenant(tenantId: string): void;
    /** Whether this process serves the tenant now (the config's, or one created or kept in the store). */
    hasTenant(tenantId: string): boolean;
    /** The configuration this process serves the tenant with now (what replaced the config's, if anything). */
    tenantOf(tenantId: string): TenantConfig | undefined;
  };
  /**
   * Starts background work (the proactive refresh of idle OAuth connections when a service uses
   * `authorization_code`). Called once the server listens; absent in transport-only fakes.
   */
  start?(): void;
  /** Stops background work and waits for it: no timer fires and no store query runs after it resolves. */
  close?(): Promise<void>;
}

/** A client key as an operator sees it: never the key or its hash, only a short prefix. */
export interface ClientKeySummary {
  readonly id: string;
  readonly name: string;
  readonly prefix: string;
  readonly toolsets: readonly string[];
  readonly subject: string;
  readonly createdAt: string;
  readonly revokedAt: string | null;
}

export interface TenantSummary {
  readonly id: string;
  readonly services: readonly string[];
  readonly toolsets: readonly { readonly id: string; readonly url: string; readonly tools: number }[];
}

/**
 * Admin use cases. Every method that names a tenant answers `not_found` for a tenant that does not exist,
 * exactly as for any other missing id (MT-01).
 */
export interface GatewayAdmin {
  listTenants(): Promise<readonly TenantSummary[]>;
  /**
   * The tenant's federated (`mcp:`) services as this process last listed them: state, counts and, for a degraded
   * one, why its last listing failed (a message without any credential).
   */
  federationStatus(tenant: string): readonly FederatedServiceStatus[];
  listClientKeys(tenant: string): Promise<readonly ClientKeySummary[]>;
  /**
   * Revokes a key; it stops working within the key cache time (10 s) on every process. Audited (`key_revoked`, subject
   * `actor`: who revoked it, `operator` or `user:<id>`).
   */
  revokeClientKey(tenant: string, keyId: string, actor: string): Promise<void>;
  /**
   * Creates a client key for toolsets of the tenant, answered once with the key (only its hash is stored);
   * `resource_conflict` when the name is taken, `invalid_request` naming an unknown toolset. Audited (`key_created`, subject `actor`: who created it).
   */
  createClientKey(
    tenant: string,
    request: { readonly name: string; readonly toolsets: readonly string[]; readonly subject: string },
    actor: string,
  ): Promise<ClientKeySummary & { readonly key: string }>;
  /**
   * Deletes a stored tenant (issue 14; see `deleteTenant`): `resource_conflict` naming what it still holds unless
   * `purge`, which deletes all of it as `gatehouse tenant purge` does. Absent in transport-only fakes.
   */
  deleteTenant?(
    tenant: string,
    options: { readonly purge: boolean; readonly actor: string },
  ): Promise<{ readonly purged?: TenantPurgeReport }>;
}

/** An end user signed in to one tenant (issue 16). `id` is the subject their tool calls and connections use. */
export interface SignedInUser {
  readonly id: string;
  readonly tenant: string;
  readonly name: string;
  readonly displayName: string;
}

/** A new session: `id` is the value of the `gatehouse_session` cookie and is never shown or stored anywhere else. */
export interface UserSessionCookie {
  readonly id: string;
  readonly user: SignedInUser;
  readonly maxAgeSeconds: number;
}

/** How a tenant's users may sign in, for the sign-in page. */
export interface SignInOptions {
  readonly tenant: string;
  readonly local: boolean;
  /** Present when the tenant has single sign-on: the button's label and the provider's origin. */
  readonly sso?: { readonly label: string; readonly origin: string };
}

/** A redirect to the tenant's identity provider, with the cookie that binds its `state` to this browser. */
export interface StartedSso {
  readonly redirectUrl: string;
  readonly cookie: {
    readonly name: string;
    readonly value: string;
    readonly maxAgeSeconds: number;
    readonly path: string;
  };
}

/** Why a user-facing form or page refused a request (one capped security audit record each). */
export type UserRequestRejection = 'csrf' | 'session_of_another_tenant' | 'not_own_connection' | 'return_path';

/**
 * End users of the tenants (issue 16): the sign-in routes, the account page, the admin API and the CLI call these.
 * Every method naming a tenant answers `not_found` for one that does not exist.
 */
export interface GatewayUsers {
  /** The user of a valid, unexpired session cookie of this tenant (cookie header as received), else undefined. */
  signedInUser(tenant: string, cookieHeader: string | undefined): Promise<SignedInUser | undefined>;
  /** The same, with the CSRF token the session's forms carry. */
  activeSession(
    tenant: string,
    cookieHeader: string | undefined,
  ): Promise<{ readonly user: SignedInUser; readonly csrfToken: string } | undefined>;
  /** Whether `csrfToken` belongs to the session cookie in `cookieHeader`. */
  checkCsrf(cookieHeader: string | undefined, csrfToken: string): boolean;
  signInOptions(tenant: string): SignInOptions;
  /**
   * Local sign-in: a new session (rotation). Unknown name, wrong password and disabled user throw the same
   * `unauthenticated`; too many attempts `rate_limited` (`details.retryAfterSeconds`). Each failure is audited.
   */
  signInWithPassword(tenant: string, name: string, password: string, address: string): Promise<UserSessionCookie>;
  signOut(tenant: string, cookieHeader: string | undefined): Promise<void>;
  /** Redirect to the tenant's identity provider (`not_found` when it has none). `returnTo` is already checked. */
  startSso(tenant: string, returnTo: string): Promise<StartedSso>;
  /**
   * Completes single sign-on from the callback's query and the browser's cookies: `state` (bound to this browser),
   * RFC 9207 `iss`, PKCE, ID token (`iss`, `aud`, `nonce`, expiry). A new session, and the path to return to.
   */
  completeSso(
    tenant: string,
    params: URLSearchParams,
    cookieHeader: string | undefined,
  ): Promise<{ readonly session: UserSessionCookie; readonly returnTo: string }>;
  /** The user an invite link is for, while it is valid. */
  openInvite(token: string): Promise<SignedInUser | undefined>;
  /** Sets the password (single use) and signs the user in. */
  acceptInvite(token: string, password: string): Promise<UserSessionCookie>;
  /** The user's own upstream connections (subject = the user's id). */
  connectionsOf(user: SignedInUser): Promise<readonly ConnectionSummary[]>;
  /** Revokes one of the user's own connections; another's id is `not_found`. */
  revokeConnection(user: SignedInUser, id: string): Promise<void>;
  /** Records a refused user request (capped per tenant per minute; `tenant` must be configured to be recorded). */
  reportRejected(tenant: string, reason: UserRequestRejection, subject?: string): void;
  /** Whether session cookies get `Secure` (the public URL is https). */
  readonly secureCookie: boolean;
  /** The demo user (`serve --demo`): created with this password, or its password reset to it. */
  ensureLocalUser(tenant: string, name: string, password: string): Promise<void>;
  /** `actor`: who makes the change, as audit records name them (`operator` or `user:<id>`); so below. */
  createUser(tenant: string, request: { name: string; displayName?: string }, actor: string): Promise<CreatedUser>;
  reinvite(tenant: string, id: string, actor: string): Promise<CreatedUser>;
  listUsers(tenant: string): Promise<readonly UserSummary[]>;
  disableUser(tenant: string, id: string, actor: string): Promise<void>;
  /** Users' roles in their tenant and their personal API tokens (issue 14): the admin API's callers. */
  readonly roles: UserRoles;
}

/** Users as an operator sees them: defined by the users module, the one home of the concept. */
export type { CreatedUser, UserSummary };
