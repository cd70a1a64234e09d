/**
 * A client's cancellation of one call in flight, as a plain slot rather than an AbortSignal: an EventTarget and a
 * listener per upstream call cost ~16 us of ~200 us CPU per call in S2 (profile A/B of c414703). The transport
 * that holds the client's request owns it and calls `cancelCall` when its client cancels; meanwhile the step that
 * holds an upstream request sets `onCancel` to end that request, and clears it once the request is over. A call
 * nobody cancels costs one object and two field writes: no listener, no promise, no tick.
 */
export interface CallCancellation {
  /** Why the client cancelled, once it did (undefined until then); a step that starts later ends at once. */
  reason: string | undefined;
  /**
   * Ends the upstream request in flight. Set by the step holding it, which clears it (only if it is still its
   * own) when done; `cancelCall` calls it at most once.
   */
  onCancel: ((reason: string) => void) | undefined;
}

/** The cancellation slot of a call that starts now. */
export function createCallCancellation(): CallCancellation {
  return { reason: undefined, onCancel: undefined };
}

/** The client cancelled: ends the upstream request in flight, if any; later calls after the first do nothing. */
export function cancelCall(cancellation: CallCancellation, reason: string): void {
  if (cancellation.reason !== undefined) return;
  cancellation.reason = reason;
  const onCancel = cancellation.onCancel;
  cancellation.onCancel = undefined;
  onCancel?.(reason);
}
