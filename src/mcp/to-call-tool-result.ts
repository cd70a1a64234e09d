import type { GatehouseError } from '../core/index.ts';
import type { CallOutcome } from '../gateway/index.ts';

/** The MCP `CallToolResult` Gatehouse answers a `tools/call` with (one shape for the fast path and the SDK path). */
export type CallToolResultBody = {
  content: ({ type: 'text'; text: string } | Readonly<Record<string, unknown>>)[];
  structuredContent?: Record<string, unknown>;
  isError?: true;
  _meta?: Record<string, unknown>;
};

/**
 * Maps a gateway outcome to the MCP result. A success carries `structuredContent` (when the gateway has one)
 * and its text rendering; a failure is a tool error (`isError: true`) whose `structuredContent.error` carries
 * the stable `code`, the message and the non-secret details, and whose text is the message. The caller handles
 * `tool_not_found`, which is a protocol error, not a result.
 */
export function toCallToolResult(outcome: CallOutcome): CallToolResultBody {
  if (outcome.ok) {
    // A federated tool's own content blocks, as its server sent them (scrubbed), when the result was not shaped.
    const result: CallToolResultBody = {
      content: outcome.content === undefined ? [{ type: 'text', text: outcome.text }] : [...outcome.content],
    };
    if (outcome.structuredContent !== undefined) result.structuredContent = { ...outcome.structuredContent };
    if (outcome.isError === true) result.isError = true;
    if (outcome.meta !== undefined) result._meta = { ...outcome.meta };
    return result;
  }
  const { code, message, details } = outcome.error;
  return {
    content: [{ type: 'text', text: message }],
    structuredContent: { error: { code, message, details } },
    isError: true,
  };
}

/**
 * The JSON-RPC error message for `tools/call` naming a tool that is not in the caller's toolset; for a tool of a
 * federated server whose tools are not listed now, the gateway's message saying so (`reason: service_unlisted`).
 */
export function toUnknownToolMessage(name: string, error?: GatehouseError): string {
  if (error?.details['reason'] === 'service_unlisted') return error.message;
  return `Unknown tool: ${name}`;
}
