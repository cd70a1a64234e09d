export { type BucketDecision, createTokenBuckets } from './create-token-buckets.ts';
export { decideToolCall, type TakeToken, type ToolCallRequest } from './decide-tool-call.ts';
export { matchToolGlob } from './match-tool-glob.ts';
export { compileToolsetPolicy, type ToolsetPolicy } from './toolset-policy.ts';
export { type ArgumentProblem, validateArguments } from './validate-arguments.ts';
