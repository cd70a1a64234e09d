import type { CallOutcome } from '../gateway/index.ts';
import { approvalMessage, declaresUrlElicitation } from './to-url-elicitation-error.ts';

/** The key of the approval's URL elicitation among a result's `inputRequests` (and the client's `inputResponses`). */
export const approvalInputKey = 'approval';

/** An `input_required` result (2026-07-28) asking the user to open the approval page. */
export interface ApprovalInputRequired {
  readonly resultType: 'input_required';
  readonly inputRequests: {
    readonly [approvalInputKey]: {
      readonly method: 'elicitation/create';
      readonly params: { readonly mode: 'url'; readonly message: string; readonly url: string };
    };
  };
  /** The approval request's id: on the retry, a declined elicitation withdraws it (a denial, never an approval). */
  readonly requestState: string;
}

/**
 * For a 2026-07-28 request whose client declares URL-mode elicitation: a call waiting for a person's approval is
 * answered `input_required` with an `elicitation/create` (mode `url`) pointing to the approval page, instead of the
 * `approval_required` tool error. The client shows the page to its user and retries; the retry runs the call once a
 * person has approved it, asks again while nobody has decided, and ends `approval_denied` after a denial. The
 * client's answer never approves: the page needs an approver's sign-in. Undefined otherwise (no link in results:
 * `approvals.linkInResult: false`; no declaration; the 2025 era, which gets `-32042`).
 */
export function toApprovalInputRequired(outcome: CallOutcome, meta: unknown): ApprovalInputRequired | undefined {
  if (outcome.ok || outcome.error.code !== 'approval_required') return undefined;
  const { approvalUrl, approvalId, tool } = outcome.error.details;
  if (typeof approvalUrl !== 'string' || typeof approvalId !== 'string' || !declaresUrlElicitation(meta, 'modern')) {
    return undefined;
  }
  return {
    resultType: 'input_required',
    inputRequests: {
      [approvalInputKey]: {
        method: 'elicitation/create',
        params: { mode: 'url', message: approvalMessage(String(tool)), url: approvalUrl },
      },
    },
    requestState: approvalId,
  };
}
