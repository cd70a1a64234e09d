export {
  createMcpEndpoint,
  type McpEndpoint,
  type McpEndpointOptions,
  type McpExchange,
} from './create-mcp-endpoint.ts';
export { type JsonRpcId, writeJsonRpcError } from './write-json-rpc-error.ts';
