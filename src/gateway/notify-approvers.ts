import { createHmac } from 'node:crypto';
import type { ApprovalView } from './create-approvals.ts';

export interface ApprovalWebhookOptions {
  readonly url: string;
  /** HMAC-SHA256 key; the signature covers `{timestamp}.{body}`. */
  readonly secret: string;
  readonly now?: () => number;
  readonly timeoutMs?: number;
  /** Delivery failures (reporting only; a failed notification never blocks or fails a call). */
  readonly onError?: (error: unknown) => void;
}

/**
 * Notifies approvers of a new approval request: `POST {url}` with JSON
 * `{ "type": "approval.requested", "approval": {...}, "approvalUrl": "..." }` and the headers
 * `x-gatehouse-timestamp` (epoch seconds) and `x-gatehouse-signature: sha256=<hex HMAC of "{timestamp}.{body}">`,
 * so a receiver can check origin and freshness. Fire and forget, one attempt, bounded by a timeout.
 */
export function notifyApprovers(
  options: ApprovalWebhookOptions,
): (approval: ApprovalView, approvalUrl: string) => void {
  const now = options.now ?? Date.now;
  return (approval, approvalUrl) => {
    const body = JSON.stringify({ type: 'approval.requested', approval, approvalUrl });
    const timestamp = String(Math.floor(now() / 1000));
    const signature = createHmac('sha256', options.secret).update(`${timestamp}.${body}`).digest('hex');
    fetch(options.url, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        'x-gatehouse-timestamp': timestamp,
        'x-gatehouse-signature': `sha256=${signature}`,
      },
      body,
      redirect: 'manual',
      signal: AbortSignal.timeout(options.timeoutMs ?? 5_000),
    })
      .then((res) => res.body?.cancel())
      .catch((error: unknown) => options.onError?.(error));
  };
}
