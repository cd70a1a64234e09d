import type { GatehouseError, JsonSchema, ToolAnnotations } from '../core/index.ts';

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
}
