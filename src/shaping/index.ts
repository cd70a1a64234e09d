export { type ToolResult, toToolResult, type UpstreamAnswer } from './to-tool-result.ts';
