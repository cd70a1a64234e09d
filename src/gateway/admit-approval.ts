import type { CallContext } from './call-context.ts';
import type { Approvals } from './create-approvals.ts';

/**
 * Step "approval" of `callTool`, policy step 5 of DESIGN.md §7: a call the policy marked for approval runs only
 * with a person's approval of exactly this call (consumed here, once); otherwise `approval_required` (a request is
 * created) or `approval_denied`.
 */
export async function admitApproval(approvals: Approvals, call: CallContext): Promise<void> {
  if (call.decision?.needsApproval) await approvals.admit(call.caller, call.name, call.decision.args);
}
