import { createHmac } from 'node:crypto';

export interface WebhookSenderOptions {
  readonly url: string;
  /** HMAC-SHA256 key; the receiver checks `x-gatehouse-signature`. */
  readonly secret: string;
  /** Attempts after the first one for network errors, timeouts, 429 and 5xx. Default 4. */
  readonly retries?: number;
  /** First retry delay, doubled each time (with up to 20% jitter). Default 500 ms. */
  readonly backoffMs?: number;
  /** Messages waiting at most; when full, the oldest is dropped (`onDropped`). Default 100. */
  readonly maxQueue?: number;
  /** Per attempt, ms. Default 5,000. */
  readonly timeoutMs?: number;
  /** Seconds clock for the signed timestamp. Default `Date.now() / 1000`. */
  readonly nowSeconds?: () => number;
  /** Sends each attempt; default the global `fetch`. A tenant's webhook goes through the SSRF-guarded one. */
  readonly fetch?: (url: string, init: RequestInit) => Promise<Response>;
  readonly onDelivered?: (id: string) => void;
  /** A message given up after its retries (`failed`) or pushed out of a full queue (`dropped`). */
  readonly onDropped?: (id: string, reason: 'failed' | 'dropped') => void;
}

export interface WebhookSender {
  /** Queues one JSON message; never throws and never waits for delivery. */
  send(id: string, payload: unknown): void;
  /** Waits until the queue is empty or `timeoutMs` passed; later messages are not sent. */
  close(timeoutMs?: number): Promise<void>;
}

/**
 * Signs a webhook body: `x-gatehouse-signature: v1=<hex HMAC-SHA256(secret, "<timestamp>.<body>")>`, the timestamp
 * (Unix seconds) also in `x-gatehouse-timestamp`, so a receiver can refuse replays outside its tolerance.
 */
export function signWebhook(secret: string, timestamp: number, body: string): string {
  return `v1=${createHmac('sha256', secret).update(`${timestamp}.${body}`).digest('hex')}`;
}

/**
 * Delivers signed webhooks one at a time from a bounded in-memory queue, with retries and exponential backoff.
 * Redirects are not followed (a webhook URL is what the operator wrote).
 */
export function createWebhookSender(options: WebhookSenderOptions): WebhookSender {
  const retries = options.retries ?? 4;
  const backoffMs = options.backoffMs ?? 500;
  const maxQueue = options.maxQueue ?? 100;
  const timeoutMs = options.timeoutMs ?? 5_000;
  const nowSeconds = options.nowSeconds ?? (() => Math.floor(Date.now() / 1000));
  const send = options.fetch ?? fetch;
  const queue: { id: string; body: string }[] = [];
  let running: Promise<void> | undefined;
  let closed = false;

  const attempt = async (body: string): Promise<'ok' | 'retry' | 'fail'> => {
    const timestamp = nowSeconds();
    try {
      const response = await send(options.url, {
        method: 'POST',
        redirect: 'manual',
        signal: AbortSignal.timeout(timeoutMs),
        headers: {
          'content-type': 'application/json',
          'user-agent': 'Gatehouse-Webhooks/0.1',
          'x-gatehouse-timestamp': String(timestamp),
          'x-gatehouse-signature': signWebhook(options.secret, timestamp, body),
        },
        body,
      });
      await response.arrayBuffer().catch(() => undefined);
      if (response.status >= 200 && response.status < 300) return 'ok';
      return response.status === 429 || response.status >= 500 ? 'retry' : 'fail';
    } catch {
      return 'retry';
    }
  };

  const drain = async (): Promise<void> => {
    while (queue.length > 0 && !closed) {
      const message = queue[0] as { id: string; body: string };
      let outcome: 'ok' | 'retry' | 'fail' = 'retry';
      for (let n = 0; n <= retries && outcome === 'retry' && !closed; n++) {
        if (n > 0) await sleep(backoffMs * 2 ** (n - 1) * (1 + Math.random() * 0.2));
        outcome = await attempt(message.body);
      }
      if (queue[0] === message) queue.shift();
      if (outcome === 'ok') options.onDelivered?.(message.id);
      else options.onDropped?.(message.id, 'failed');
    }
  };

  return {
    send(id, payload) {
      if (closed) return;
      if (queue.length >= maxQueue) {
        // Keep the one in flight (index 0); drop the oldest waiting one.
        const dropped = queue.splice(queue.length > 1 ? 1 : 0, 1)[0];
        if (dropped) options.onDropped?.(dropped.id, 'dropped');
      }
      queue.push({ id, body: JSON.stringify(payload) });
      running ??= drain().finally(() => {
        running = undefined;
      });
    },
    async close(wait = 2_000) {
      if (running) await Promise.race([running, sleep(wait)]);
      closed = true;
    },
  };
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}
