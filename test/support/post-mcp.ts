/** A JSON-RPC answer of the gateway's MCP endpoint, as the tests read it. */
export interface McpAnswer {
  readonly result?: Record<string, unknown> & {
    readonly tools?: readonly { readonly name: string }[];
    readonly isError?: boolean;
    readonly structuredContent?: Record<string, unknown>;
    readonly content?: readonly { readonly text: string }[];
  };
  readonly error?: {
    readonly code: number;
    readonly message: string;
    readonly data?: { readonly code?: string; readonly details?: Record<string, unknown> };
  };
}

/** One 2025-11-25 JSON-RPC request to `{gateway}/mcp/{tenant}/{toolset}` with a client key (no session needed). */
export async function postMcp(
  endpoint: string,
  clientKey: string,
  method: string,
  params: Record<string, unknown>,
): Promise<McpAnswer> {
  const response = await fetch(endpoint, {
    method: 'POST',
    headers: {
      authorization: `Bearer ${clientKey}`,
      'content-type': 'application/json',
      accept: 'application/json, text/event-stream',
      'mcp-protocol-version': '2025-11-25',
    },
    body: JSON.stringify({ jsonrpc: '2.0', id: 1, method, params }),
  });
  return (await response.json()) as McpAnswer;
}
