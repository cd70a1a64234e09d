import { type Implementation, SERVER_INFO_META_KEY } from '@modelcontextprotocol/server';
import type { CallOutcome } from '../gateway/index.ts';
import { toCallToolResult, toUnknownToolMessage } from './to-call-tool-result.ts';

/**
 * The JSON-RPC response body of a `tools/call` answered on the fast path: the same message the SDK path sends
 * (`toCallToolResult`, members in the same order), or the `-32602` error for a tool that is not in the toolset.
 * When the gateway hands over `structuredContent` already serialised (`structuredJson`, valid JSON by contract:
 * it was parsed, never built by hand), the body is concatenated around it instead of serialising the object again.
 */
export function serializeToolCallResponse(
  id: string | number,
  name: string,
  outcome: CallOutcome,
  modern?: ModernResultMeta,
): string {
  if (!outcome.ok && outcome.error.code === 'tool_not_found') {
    return JSON.stringify({
      jsonrpc: '2.0',
      id,
      error: { code: -32602, message: toUnknownToolMessage(name, outcome.error) },
    });
  }
  if (outcome.ok && outcome.structuredJson !== undefined) {
    return (
      `{"result":{"content":[{"type":"text","text":${JSON.stringify(outcome.text)}}],` +
      `"structuredContent":${outcome.structuredJson}${modern === undefined ? '' : `,${modern.members}`}},` +
      `"jsonrpc":"2.0","id":${JSON.stringify(id)}}`
    );
  }
  const result = toCallToolResult(outcome);
  if (modern === undefined) return JSON.stringify({ result, jsonrpc: '2.0', id });
  if (result._meta !== undefined) {
    // A federated result's own `_meta` joins the server info under one `_meta` member.
    const members = { resultType: 'complete', _meta: { ...result._meta, ...modern.meta } };
    return JSON.stringify({ result: { ...result, ...members }, jsonrpc: '2.0', id });
  }
  const text = JSON.stringify(result);
  return `{"result":${text.slice(0, -1)},${modern.members}},"jsonrpc":"2.0","id":${JSON.stringify(id)}}`;
}

/**
 * What a 2026-07-28 result adds after the `CallToolResult` members, serialised once per endpoint:
 * `"resultType":"complete","_meta":{"io.modelcontextprotocol/serverInfo":{...}}`, as the SDK writes it.
 */
export interface ModernResultMeta {
  readonly members: string;
  /** The `_meta` object of those members. */
  readonly meta: Readonly<Record<string, unknown>>;
}

export function createModernResultMeta(serverInfo: Implementation): ModernResultMeta {
  const meta = { [SERVER_INFO_META_KEY]: serverInfo };
  const members = JSON.stringify({ resultType: 'complete', _meta: meta });
  return { members: members.slice(1, -1), meta };
}
