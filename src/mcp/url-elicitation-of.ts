import { CLIENT_CAPABILITIES_META_KEY, PROTOCOL_VERSION_META_KEY } from '@modelcontextprotocol/server';
import type { GatehouseError } from '../core/index.ts';

/**
 * The keys of a URL elicitation among an `input_required` result's `inputRequests` (2026-07-28) and the client's
 * `inputResponses` on its retry: a person's approval, or a connection to make (connect, reconnect, step-up).
 */
export const urlInputKeys = ['approval', 'connect'] as const;
export type UrlInputKey = (typeof urlInputKeys)[number];

/** A page the user must open in a browser before a tool call can run. */
export interface UrlElicitation {
  readonly inputKey: UrlInputKey;
  readonly url: string;
  /** What the user is shown: names the service (or tool) and who must act on the page. */
  readonly message: string;
  /** The approval request's id (approvals only): on the retry, a declined elicitation withdraws it. */
  readonly approvalId?: string;
}

/**
 * What a URL elicitation is read from: a tool call's outcome (`CallOutcome`), or a federated `resources/read` or
 * `prompts/get`'s (`FederatedOutcome`), the other requests that may ask their client for input.
 */
export type ElicitingOutcome = { readonly ok: true } | { readonly ok: false; readonly error: GatehouseError };

const connectCodes: ReadonlySet<string> = new Set(['connection_required', 'reauth_required']);

/**
 * The URL elicitation a tool call's outcome asks for, the same for both protocol eras (`-32042` on 2025,
 * `input_required` on 2026-07-28); undefined when the outcome needs nothing from a browser (or carries no link):
 * - connect (or reconnect) an account: the connect link (`details.connectUrl`);
 * - consent to more scope a federated server asked for (MCP step-up, `upstream_insufficient_scope`): its step-up
 *   link (`details.stepUpUrl`);
 * - a person's approval of this exact call: the approval page. Opening it approves nothing; an approver signs in
 *   there (see docs/security.md).
 * A connect link's message is the tool error's own: it names the service, whose connection it is and who must open
 * the link (`describeLinkOpener`), since the link opens only for that person.
 */
export function urlElicitationOf(outcome: ElicitingOutcome): UrlElicitation | undefined {
  if (outcome.ok) return undefined;
  const { code, details, message } = outcome.error;
  if (code === 'approval_required') {
    const { approvalUrl, approvalId, tool } = details;
    if (typeof approvalUrl !== 'string') return undefined;
    return {
      inputKey: 'approval',
      url: approvalUrl,
      message: approvalMessage(String(tool)),
      ...(typeof approvalId === 'string' ? { approvalId } : {}),
    };
  }
  const url = connectCodes.has(code)
    ? details['connectUrl']
    : code === 'upstream_insufficient_scope'
      ? details['stepUpUrl']
      : undefined;
  return typeof url === 'string' ? { inputKey: 'connect', url, message } : undefined;
}

/** What the user is asked when a call waits for a person's approval (both eras). */
function approvalMessage(tool: string): string {
  return `A person who may approve calls must approve this call of ${tool} on this page (opening it approves nothing).`;
}

/**
 * Whether a request's `_meta` declares URL-mode elicitation (`elicitation.url`) for its era: `legacy` (2025, no
 * protocol version in `_meta`) or `modern` (2026-07-28, which names one). Stateless serving never sees
 * `initialize`, so the declaration is read from the request's own `_meta` (the per-request form).
 */
export function declaresUrlElicitation(meta: unknown, era: 'legacy' | 'modern'): boolean {
  if (typeof meta !== 'object' || meta === null) return false;
  const record = meta as Record<string, unknown>;
  if (PROTOCOL_VERSION_META_KEY in record !== (era === 'modern')) return false;
  const capabilities = record[CLIENT_CAPABILITIES_META_KEY] as { elicitation?: { url?: unknown } } | undefined;
  return typeof capabilities?.elicitation?.url === 'object' && capabilities.elicitation.url !== null;
}
