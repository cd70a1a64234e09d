export { countTokens } from './count-tokens.ts';
export { type ToolResult, toToolResult, type UpstreamAnswer } from './to-tool-result.ts';
