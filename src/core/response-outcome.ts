/**
 * Why an HTTP response was an error, noted by whoever wrote it (a problem+json body, a JSON-RPC transport error)
 * and read by the request log line, so a `401` says `code=unauthenticated reason=invalid_token` instead of only
 * its status. Keyed weakly by the response object: nothing to clean up, nothing that outlives the request.
 */
export interface ResponseOutcome {
  readonly code: string;
  /** A non-secret refinement of the code, e.g. which RFC 6750 error a 401 carried. */
  readonly reason?: string;
}

const outcomes = new WeakMap<object, ResponseOutcome>();

export function noteResponseOutcome(res: object, outcome: ResponseOutcome): void {
  outcomes.set(res, outcome);
}

export function responseOutcomeOf(res: object): ResponseOutcome | undefined {
  return outcomes.get(res);
}
