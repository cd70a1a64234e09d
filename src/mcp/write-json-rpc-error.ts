import type { ServerResponse } from 'node:http';

export type JsonRpcId = string | number | null;

/**
 * Writes a JSON-RPC error response with an HTTP status: the shape the SDK transports use for errors raised
 * before a message is dispatched (`{"jsonrpc":"2.0","error":{code,message,data?},"id":...}`). `data` must be
 * non-secret: it is sent to the client.
 */
export function writeJsonRpcError(
  res: ServerResponse,
  status: number,
  error: { readonly code: number; readonly message: string; readonly data?: unknown },
  id: JsonRpcId = null,
  headers: Readonly<Record<string, string>> = {},
): void {
  const body = JSON.stringify({
    jsonrpc: '2.0',
    error: error.data === undefined ? { code: error.code, message: error.message } : error,
    id,
  });
  res.writeHead(status, { ...headers, 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
  res.end(body);
}
