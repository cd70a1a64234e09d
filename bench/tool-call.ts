/**
 * The one request every MCP target serves in the benchmarks: `tools/call` of `upstream_getItem` with the headers a
 * 2025-11-25 Streamable HTTP client sends. `direct` sends `GET /items/item-42` to the upstream instead.
 */
export const toolCall = {
  itemId: 'item-42',
  tool: 'upstream_getItem',
  body: JSON.stringify({
    jsonrpc: '2.0',
    id: 1,
    method: 'tools/call',
    params: { name: 'upstream_getItem', arguments: { id: 'item-42' } },
  }),
  headers: {
    'content-type': 'application/json',
    accept: 'application/json, text/event-stream',
    'mcp-protocol-version': '2025-11-25',
  } as Record<string, string>,
} as const;

/**
 * Sends one `tools/call` to an MCP target (or one GET for `direct`) and throws, saying what came back, unless the
 * answer carries the upstream item: a JSON-RPC result (JSON or a single SSE event) that is not `isError` and whose
 * content mentions the item id. Run once per target before measuring, so a fast error path is never benchmarked.
 */
export async function checkToolCall(target: {
  url: string;
  method: 'GET' | 'POST';
  headers: Record<string, string>;
  body?: string;
}): Promise<void> {
  const res = await fetch(target.url, {
    method: target.method,
    headers: target.headers,
    body: target.body,
    signal: AbortSignal.timeout(10_000),
  });
  const text = await res.text();
  const snippet = text.slice(0, 300);
  if (res.status !== 200) throw new Error(`HTTP ${res.status}: ${snippet}`);
  if (target.method === 'GET') {
    if (!text.includes(toolCall.itemId)) throw new Error(`unexpected upstream body: ${snippet}`);
    return;
  }
  const json = (res.headers.get('content-type') ?? '').includes('text/event-stream') ? readSseData(text) : text;
  const message = JSON.parse(json) as { result?: { isError?: boolean }; error?: unknown };
  if (!message.result) throw new Error(`no JSON-RPC result: ${snippet}`);
  if (message.result.isError) throw new Error(`tool result has isError: ${snippet}`);
  if (!json.includes(toolCall.itemId)) throw new Error(`result does not carry the upstream item: ${snippet}`);
}

function readSseData(text: string): string {
  const lines = text.split(/\r?\n/).filter((line) => line.startsWith('data:'));
  return lines.map((line) => line.slice(5).trim()).join('\n');
}
