export {
  type ArgumentConstraint,
  type ArgumentConstraints,
  compileArgumentConstraints,
} from './compile-argument-constraints.ts';
export {
  admitCallLimits,
  type CallLimits,
  compileToolsetLimits,
  createCallLimits,
  type LimitedCaller,
  type ReleaseLimits,
  rateLimitsOf,
  type ToolsetLimits,
} from './create-call-limits.ts';
export { createMemoryLimiter } from './create-memory-limiter.ts';
export {
  decideToolCall,
  type ToolCallDecision,
  type ToolCallRequest,
} from './decide-tool-call.ts';
export { hashApprovalArguments } from './hash-approval-arguments.ts';
export { matchToolGlob } from './match-tool-glob.ts';
export { mostSpecificByGlob, pickByGlob } from './pick-by-glob.ts';
export {
  collectRequiredScopes,
  equalAlternatives,
  expandScopes,
  findEqualMissingScopes,
  findMissingScopes,
  type ScopeImplications,
} from './scope-check.ts';
export {
  compileToolsetPolicy,
  type ToolRules,
  type ToolsetPolicy,
  type ToolsetPolicyOptions,
} from './toolset-policy.ts';
export { type ArgumentProblem, validateArguments } from './validate-arguments.ts';
