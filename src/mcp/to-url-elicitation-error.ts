import { CLIENT_CAPABILITIES_META_KEY, PROTOCOL_VERSION_META_KEY } from '@modelcontextprotocol/server';
import { createId } from '../core/index.ts';
import type { CallOutcome } from '../gateway/index.ts';

/** JSON-RPC error `URLElicitationRequiredError` of MCP 2025-11-25 (URL mode elicitation). */
export const urlElicitationRequiredCode = -32042;

export interface UrlElicitationError {
  readonly code: typeof urlElicitationRequiredCode;
  readonly message: string;
  readonly data: {
    readonly elicitations: readonly {
      readonly mode: 'url';
      readonly elicitationId: string;
      readonly url: string;
      readonly message: string;
    }[];
  };
}

const connectCodes: ReadonlySet<string> = new Set(['connection_required', 'reauth_required']);

/**
 * The `-32042` error for a tool call that needs the user to do something in a browser first, when the request
 * declares URL-mode elicitation (`elicitation.url`) in its client capabilities; undefined otherwise, and the caller
 * answers the `isError` result carrying the same link:
 * - connect (or reconnect) an account: the connect link;
 * - consent to more scope a federated server asked for (MCP step-up, `upstream_insufficient_scope`): its step-up link;
 * - a person's approval of this exact call: the approval page. Opening it approves nothing; an approver signs in
 *   there (see docs/security.md), and the client calls again once it is decided.
 *
 * Stateless serving never sees `initialize`, so the declaration is read from the request's own `_meta`
 * (`io.modelcontextprotocol/clientCapabilities`, the per-request form). Requests of the 2026-07-28 era (their
 * `_meta` names a protocol version) are left alone: that era has no `-32042` on the wire (see
 * `toApprovalInputRequired`).
 */
export function toUrlElicitationError(outcome: CallOutcome, meta: unknown): UrlElicitationError | undefined {
  if (outcome.ok || !declaresUrlElicitation(meta, 'legacy')) return undefined;
  const { code, details } = outcome.error;
  const url = connectCodes.has(code)
    ? details['connectUrl']
    : code === 'approval_required'
      ? details['approvalUrl']
      : code === 'upstream_insufficient_scope'
        ? details['stepUpUrl']
        : undefined;
  if (typeof url !== 'string') return undefined;
  const message =
    code === 'approval_required'
      ? approvalMessage(String(details['tool']))
      : code === 'reauth_required'
        ? `Reconnect ${String(details['service'])} in your browser to continue.`
        : code === 'upstream_insufficient_scope'
          ? `Grant ${String(details['service'])} more access in your browser to continue.`
          : `Connect ${String(details['service'])} in your browser to continue.`;
  return {
    code: urlElicitationRequiredCode,
    message: outcome.error.message,
    data: { elicitations: [{ mode: 'url', elicitationId: createId(16), url, message }] },
  };
}

/** What the user is asked when a call waits for a person's approval (both eras). */
export function approvalMessage(tool: string): string {
  return `A person who may approve calls must approve this call of ${tool} on this page (opening it approves nothing).`;
}

/**
 * Whether a request's `_meta` declares URL-mode elicitation (`elicitation.url`) for its era: `legacy` (2025, no
 * protocol version in `_meta`) or `modern` (2026-07-28, which names one).
 */
export function declaresUrlElicitation(meta: unknown, era: 'legacy' | 'modern'): boolean {
  if (typeof meta !== 'object' || meta === null) return false;
  const record = meta as Record<string, unknown>;
  if (PROTOCOL_VERSION_META_KEY in record !== (era === 'modern')) return false;
  const capabilities = record[CLIENT_CAPABILITIES_META_KEY] as { elicitation?: { url?: unknown } } | undefined;
  return typeof capabilities?.elicitation?.url === 'object' && capabilities.elicitation.url !== null;
}
