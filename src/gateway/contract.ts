import type { GatehouseError, JsonSchema, ToolAnnotations } from '../core/index.ts';
import type { Approvals } from './create-approvals.ts';
import type { GatewayConnections } from './create-gateway-connections.ts';

/**
 * What the transports (mcp/, http/, cli/) see of the gateway. Every use case lives behind this surface; the
 * transports only translate protocols.
 */

/** The verified caller of one request: derived from the client key, never from anything the client says. */
export interface Caller {
  readonly tenant: string;
  readonly toolset: string;
  /** Id and display name of the client key. */
  readonly keyId: string;
  readonly keyName: string;
  readonly subject: string;
}

/** A tool as listed to an MCP client. */
export interface ListedTool {
  readonly name: string;
  readonly title: string;
  readonly description: string;
  readonly inputSchema: JsonSchema;
  readonly outputSchema?: JsonSchema;
  readonly annotations: ToolAnnotations;
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
    }
  | { readonly ok: false; readonly error: GatehouseError };

export interface Gateway {
  /**
   * Verifies `Authorization: Bearer <client key>` for the endpoint `/mcp/{tenant}/{toolset}`. A key of another
   * tenant, a key not allowed on this toolset and a nonexistent endpoint all throw the same `not_found`;
   * a missing or unknown key throws `unauthenticated`.
   */
  authenticate(tenant: string, toolset: string, authorization: string | undefined): Promise<Caller>;
  listTools(caller: Caller): Promise<readonly ListedTool[]>;
  /** Runs one tool call through policy, credentials, upstream, shaping and audit. Never throws. */
  callTool(caller: Caller, name: string, args: unknown, requestId: string): Promise<CallOutcome>;
  /** Store reachable (for /readyz). */
  ready(): Promise<boolean>;
  /** Use cases of the admin API (`/api/v1`); the HTTP layer checks the admin token before calling them. */
  readonly admin: GatewayAdmin;
  /** Out-of-band approvals (admin API and approval page only; no MCP tool reaches them). */
  readonly approvals?: Approvals;
  /** OAuth connections: the connect flow's browser routes and admin use cases (absent in transport-only fakes). */
  readonly connections?: GatewayConnections;
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
  listClientKeys(tenant: string): Promise<readonly ClientKeySummary[]>;
  /** Revokes a key; it stops working within the key cache time (10 s) on every process. */
  revokeClientKey(tenant: string, keyId: string): Promise<void>;
}
