import { createWebhookSender } from '../audit/index.ts';
import type { ApprovalView } from './create-approvals.ts';

export interface ApprovalWebhookOptions {
  readonly url: string;
  /** HMAC-SHA256 key; the signature covers `{timestamp}.{body}`. */
  readonly secret: string;
  /** A notification given up after its retries, or pushed out of a full queue (reporting only). */
  readonly onError?: (error: unknown) => void;
}

export interface ApprovalNotifier {
  /** Queues the notification of a new approval request; never blocks or fails the call that asked for it. */
  notify(approval: ApprovalView, approvalUrl: string): void;
  /** Delivers what is queued, for at most `timeoutMs`. */
  close(timeoutMs?: number): Promise<void>;
}

/**
 * Notifies approvers of a new approval request: `POST {url}` with JSON
 * `{ "type": "approval.requested", "approval": {...}, "approvalUrl": "..." }`, delivered and signed by the same
 * sender as alert webhooks (`audit/createWebhookSender`): `x-gatehouse-timestamp` (epoch seconds) and
 * `x-gatehouse-signature: v1=<hex HMAC-SHA256 of "{timestamp}.{body}">`, retried with backoff on network errors,
 * timeouts, 429 and 5xx, from a bounded queue. One receiver code path checks both kinds of webhook.
 */
export function createApprovalNotifier(options: ApprovalWebhookOptions): ApprovalNotifier {
  const sender = createWebhookSender({
    url: options.url,
    secret: options.secret,
    onDropped: (id, reason) =>
      options.onError?.(new Error(`Approval notification ${id} was not delivered (${reason})`)),
  });
  return {
    notify: (approval, approvalUrl) => sender.send(approval.id, { type: 'approval.requested', approval, approvalUrl }),
    close: (timeoutMs) => sender.close(timeoutMs),
  };
}
