import type { ReconnectionScheduler } from '@modelcontextprotocol/client';
import { toResumeDelay } from './to-resume-delay.ts';

/** A stream that lived less than this after it was reopened counts as churn: the next reopening waits longer. */
const churnWindowMs = 1_000;
/** The longest wait between reopenings of a session's streams (the SDK client's own `maxReconnectionDelay`). */
export const maxReconnectionDelayMs = 30_000;

export interface SessionReconnections {
  /** Reopens the session's standalone stream: backs off while it keeps ending within a second. */
  readonly schedule: ReconnectionScheduler;
  /**
   * Resumes the answer stream of a request in flight after the wait asked (at least 100 ms), whatever the session's
   * other streams did: a server polling a call (SEP-1699: it ends the stream after each event id and asks a short
   * `retry`) is resumed as often as it asks, within the request's own time, which bounds the resumptions.
   */
  readonly resume: ReconnectionScheduler;
  /** Clears every reopening still waiting: the transport cancels only the last one it scheduled. */
  cancelAll(): void;
}

/**
 * When one federated session's SDK client reopens its standalone stream or resumes a request's answer stream: after
 * the wait it asks (the server's `retry`, else its backoff), at least 100 ms and at most what a timer holds
 * (`toResumeDelay`). The SDK client starts its retry count from zero with each stream that opens, so a server that
 * ends every stream at once had the session reopen it every 100 ms for as long as it lived: 10 requests a second
 * per session, across as many sessions as the gateway keeps. Here a standalone stream that lived less than a second
 * makes the next wait twice the last one (up to 30 s); one that lived longer starts again from the wait asked. The
 * first GET of a stream is not scheduled, so not delayed. A request's answer stream (`resume`) does not back off: its
 * request's timeout bounds it, and doubling the waits of a server polling a call (or sharing the standalone stream's
 * backoff) left the call waiting past its timeout for an answer the server had (finding
 * sdk_path_polling_call_starved).
 */
export function createReconnectionScheduler(now: () => number = Date.now): SessionReconnections {
  let lastOpened = Number.NEGATIVE_INFINITY;
  let lastWait = 0;
  const waiting = new Set<NodeJS.Timeout>();
  /** Runs `reconnect` after `wait` ms, unless cancelled (by the transport, or `cancelAll`). */
  const after = (wait: number, reconnect: () => void) => {
    const timer = setTimeout(() => {
      waiting.delete(timer);
      reconnect();
    }, wait);
    // The session's own sockets hold the process while it is in use; a reopening waiting for one does not.
    timer.unref();
    waiting.add(timer);
    return () => {
      waiting.delete(timer);
      clearTimeout(timer);
    };
  };
  return {
    schedule(reconnect, delay) {
      const asked = toResumeDelay(delay);
      const churning = now() - lastOpened < churnWindowMs;
      const wait = churning ? Math.min(Math.max(asked, lastWait * 2), Math.max(asked, maxReconnectionDelayMs)) : asked;
      lastWait = wait;
      return after(wait, () => {
        lastOpened = now();
        reconnect();
      });
    },
    resume(reconnect, delay) {
      return after(toResumeDelay(delay), reconnect);
    },
    cancelAll() {
      for (const timer of waiting) clearTimeout(timer);
      waiting.clear();
    },
  };
}
