import { createId } from '../core/index.ts';
import { declaresUrlElicitation, type ElicitingOutcome, urlElicitationOf } from './url-elicitation-of.ts';

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

/**
 * The `-32042` error for a tool call that needs the user to do something in a browser first (`urlElicitationOf`),
 * when a 2025-era request declares URL-mode elicitation (`elicitation.url`) in its client capabilities; undefined
 * otherwise, and the caller answers the `isError` result carrying the same link. The client calls again once the
 * person has acted. Requests of the 2026-07-28 era are left alone: that era has no `-32042` on the wire (see
 * `toUrlInputRequired`).
 */
export function toUrlElicitationError(outcome: ElicitingOutcome, meta: unknown): UrlElicitationError | undefined {
  if (outcome.ok || !declaresUrlElicitation(meta, 'legacy')) return undefined;
  const elicitation = urlElicitationOf(outcome);
  if (elicitation === undefined) return undefined;
  return {
    code: urlElicitationRequiredCode,
    message: outcome.error.message,
    data: {
      elicitations: [{ mode: 'url', elicitationId: createId(16), url: elicitation.url, message: elicitation.message }],
    },
  };
}
