import { inputResponse, ProtocolError } from '@modelcontextprotocol/server';
import { toUrlElicitationError } from './to-url-elicitation-error.ts';
import {
  declaresUrlElicitation,
  type ElicitingOutcome,
  type UrlInputKey,
  urlElicitationOf,
  urlInputKeys,
} from './url-elicitation-of.ts';

/** An `input_required` result (2026-07-28) asking the user to open one page in a browser. */
export interface UrlInputRequired {
  readonly resultType: 'input_required';
  readonly inputRequests: {
    readonly [key in UrlInputKey]?: {
      readonly method: 'elicitation/create';
      readonly params: { readonly mode: 'url'; readonly message: string; readonly url: string };
    };
  };
  /** The approval request's id (approvals only): on the retry, a declined elicitation withdraws it. */
  readonly requestState?: string;
}

/**
 * For a 2026-07-28 request whose client declares URL-mode elicitation: a call that needs the user to open a page
 * (`urlElicitationOf`: a person's approval, a connect, reconnect or step-up link) is answered `input_required`
 * with one `elicitation/create` (mode `url`) to that page, instead of the tool error. The client shows the page to
 * its user and retries with the same arguments; the retry is a new call, so it runs once the person has acted
 * (approved, connected), asks again while they have not (the client's `maxRounds` bounds the rounds), and ends
 * with the tool error after a denial. The client's answer never approves nor connects anything: those happen on the
 * page, after a sign-in.
 *
 * `declined`: the keys whose elicitation the user declined or cancelled in this retry (`declinedUrlInputs`); such
 * a call is not asked again and ends with its tool error (a connect link's `connection_required`,
 * `reauth_required` or `upstream_insufficient_scope`; an approval's `approval_denied`, the request withdrawn).
 * Undefined otherwise (no link: `approvals.linkInResult: false`; no declaration; the 2025 era, which gets
 * `-32042`).
 */
export function toUrlInputRequired(
  outcome: ElicitingOutcome,
  meta: unknown,
  declined: ReadonlySet<UrlInputKey> = new Set(),
): UrlInputRequired | undefined {
  if (outcome.ok || !declaresUrlElicitation(meta, 'modern')) return undefined;
  const elicitation = urlElicitationOf(outcome);
  if (elicitation === undefined || declined.has(elicitation.inputKey)) return undefined;
  // An approval's retry names its request, so a declined elicitation can withdraw exactly that one.
  if (elicitation.inputKey === 'approval' && elicitation.approvalId === undefined) return undefined;
  return {
    resultType: 'input_required',
    inputRequests: {
      [elicitation.inputKey]: {
        method: 'elicitation/create',
        params: { mode: 'url', message: elicitation.message, url: elicitation.url },
      },
    },
    ...(elicitation.approvalId === undefined ? {} : { requestState: elicitation.approvalId }),
  };
}

/** The URL elicitations the user declined or cancelled, from a retry's `inputResponses`. */
export function declinedUrlInputs(responses: unknown): ReadonlySet<UrlInputKey> {
  const declined = new Set<UrlInputKey>();
  for (const key of urlInputKeys) {
    const response = inputResponse(responses as Record<string, unknown> | undefined, key);
    if (response.kind === 'elicit' && response.action !== 'accept') declined.add(key);
  }
  return declined;
}

/**
 * A request that needs its user to open a page first (`tools/call`, a federated `resources/read` or `prompts/get`),
 * asked for the way its era asks: throws the `-32042` error for a 2025-era request declaring URL elicitation
 * (`toUrlElicitationError`), returns the `input_required` result for a 2026-07-28 one unless `declined`
 * (`toUrlInputRequired`); undefined when it asks nothing, and the request answers its error. `meta`: the request's
 * `_meta` with the 2026-07-28 envelope (`requestMetaOf`).
 */
export function askForUrl(
  outcome: ElicitingOutcome,
  meta: unknown,
  declined: ReadonlySet<UrlInputKey>,
): UrlInputRequired | undefined {
  const elicitation = toUrlElicitationError(outcome, meta);
  if (elicitation !== undefined) throw new ProtocolError(elicitation.code, elicitation.message, elicitation.data);
  return toUrlInputRequired(outcome, meta, declined);
}

/** A request's `_meta` with the keys the SDK lifts out of it on 2026-07-28 (client capabilities among them). */
export function requestMetaOf(
  meta: Readonly<Record<string, unknown>> | undefined,
  envelope: Readonly<Record<string, unknown>> | undefined,
): Record<string, unknown> {
  return { ...meta, ...envelope };
}
