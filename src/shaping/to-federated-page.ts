import { scrubJson } from '../audit/index.ts';
import { GatehouseError, isPlainObject } from '../core/index.ts';
import type { ToolPage } from './to-tool-page.ts';

/**
 * `_meta` keys a federated result may not carry to the client: the protocol's reserved namespace (the gateway
 * answers with its own server info and protocol keys) and the gateway's own.
 */
const gatewayOwnedMeta = /^(io\.modelcontextprotocol\/|modelcontextprotocol\.io\/|gatehouse[./])/;

/**
 * A remote MCP server's `CallToolResult` as a tool page, scrubbed once (RS-01): content blocks, `structuredContent`
 * and `isError` as the server sent them, `_meta` without gateway-owned keys. `text` (what budgets measure and a
 * handle stores) is the structured content as JSON when there is some, else the text blocks joined; other blocks
 * (images, audio, resources) are delivered as they are. A result that is not a `CallToolResult`, or has a content
 * block without the members its kind requires, throws `upstream_error` naming the tool.
 */
export function toFederatedPage(result: unknown, toolName: string, scrub: (text: string) => string): ToolPage {
  const value = scrubFederatedAnswer(result, scrub, { of: `answer to ${toolName}`, details: { tool: toolName } });
  const content = value?.['content'];
  if (value === null || typeof value !== 'object' || !Array.isArray(content) || !content.every(isPlainObject)) {
    throw new GatehouseError('upstream_error', `The MCP server's answer to ${toolName} is not a tool result`, {
      tool: toolName,
    });
  }
  const malformed = content.findIndex((block) => !isContentBlock(block));
  if (malformed !== -1) {
    throw new GatehouseError(
      'upstream_error',
      `The MCP server's answer to ${toolName} has a malformed content block (content[${malformed}]: a ${String(content[malformed]?.['type'])} block without its required members)`,
      { tool: toolName, block: malformed },
    );
  }
  const structured = value['structuredContent'];
  const structuredContent = isPlainObject(structured) ? structured : undefined;
  const meta = isPlainObject(value['_meta']) ? withoutGatewayMeta(value['_meta']) : undefined;
  const text =
    structuredContent !== undefined
      ? JSON.stringify(structuredContent)
      : content
          .filter((block) => block['type'] === 'text' && typeof block['text'] === 'string')
          .map((block) => block['text'] as string)
          .join('\n');
  return {
    headers: {},
    // Upstream pagination conventions are HTTP ones; a federated result is never followed to another page.
    json: undefined,
    result: {
      text,
      content,
      ...(structuredContent === undefined ? {} : { structuredContent }),
      ...(meta === undefined ? {} : { meta }),
      ...(value['isError'] === true ? { isError: true } : {}),
    },
  };
}

/**
 * `scrubFederated(result)` of a server's answer (a tool, resource or prompt result); an answer nested deeper than
 * serialising it allows (`JSON.parse` builds any depth from a server's answer, `JSON.stringify` overflows the stack)
 * is the server's `upstream_error` (`The MCP server's <of> is nested too deeply`, with `details`), not the gateway's
 * fault.
 */
export function scrubFederatedAnswer(
  result: unknown,
  scrub: (text: string) => string,
  about: { readonly of: string; readonly details: Readonly<Record<string, string>> },
): Record<string, unknown> | null {
  try {
    return scrubFederated(result, scrub);
  } catch (error) {
    if (!(error instanceof RangeError)) throw error;
    throw new GatehouseError('upstream_error', `The MCP server's ${about.of} is nested too deeply`, {
      ...about.details,
    });
  }
}

/**
 * The members each kind of content block must carry (MCP `ContentBlock`), checked as the official client's result
 * schema checks them, so a client never receives a block its SDK refuses; a kind not known here passes if it names
 * its type (a later protocol version may add kinds).
 */
const requiredMembers: Readonly<Record<string, readonly string[]>> = {
  text: ['text'],
  image: ['data', 'mimeType'],
  audio: ['data', 'mimeType'],
  resource_link: ['uri', 'name'],
};
function isContentBlock(block: Record<string, unknown>): boolean {
  const type = block['type'];
  if (typeof type !== 'string') return false;
  if (type === 'resource') {
    const resource = block['resource'];
    return isPlainObject(resource) && typeof resource['uri'] === 'string';
  }
  return (requiredMembers[type] ?? []).every((member) => typeof block[member] === 'string');
}

/**
 * Any answer of a remote MCP server (a tool, resource or prompt result), scrubbed once: every secret `scrub` knows
 * redacted anywhere in it, and its `_meta` without gateway-owned keys (dropped when none is left).
 */
export function scrubFederated(result: unknown, scrub: (text: string) => string): Record<string, unknown> | null {
  const value = scrubJson(result ?? null, scrub) as Record<string, unknown> | null;
  if (!isPlainObject(value) || !('_meta' in value)) return value;
  const { _meta: meta, ...rest } = value;
  const kept = isPlainObject(meta) ? withoutGatewayMeta(meta) : undefined;
  return kept === undefined ? rest : { ...rest, _meta: kept };
}

/** `meta` without the keys the gateway owns (`gatewayOwnedMeta`); undefined when none is left. */
export function withoutGatewayMeta(meta: Record<string, unknown>): Record<string, unknown> | undefined {
  const kept = Object.entries(meta).filter(([key]) => !gatewayOwnedMeta.test(key));
  return kept.length === 0 ? undefined : Object.fromEntries(kept);
}
