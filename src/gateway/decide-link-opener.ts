import type { SignedInUser } from '../users/index.ts';

/** Who is at the browser that opens a connect link, as the HTTP layer read it from that browser's cookies. */
export interface LinkOpener {
  /** The link's tenant's signed-in user (their session cookie), if any. */
  readonly user?: SignedInUser;
  /** Whether the browser holds an owner or admin of the tenant: that user's role, or the operator's session. */
  readonly admin: boolean;
}

/**
 * What a visit to a connect link may do:
 * - `open`: use the link now (redirect to the authorization server);
 * - `sign_in`: nobody suitable is signed in; sign in (as the link's user, or as an owner/admin) and come back;
 * - `refused`: the signed-in person may not open it (`other_user`: the link is another user's; `not_admin`: the
 *   subject is no user's and the person is not an owner/admin);
 * - `confirm`: an owner/admin opens a link for a subject that is no user's; they confirm that subject first.
 * Only `open` (and a confirmed `confirm`) spend the link.
 */
export type LinkOpening =
  | { readonly kind: 'open' }
  | { readonly kind: 'sign_in'; readonly as: 'user' | 'admin' }
  | { readonly kind: 'refused'; readonly reason: 'other_user' | 'not_admin' }
  | { readonly kind: 'confirm' };

/**
 * Who may open a connect link (finding connect_link_forwarded_connects_other_account). The person who opens it
 * consents with *their* account at the provider, and the link's subject then calls with it: a forwarded link (or
 * one an attacker minted for their own subject and sent to a victim) connects the wrong account. So:
 * - a subject that is a user of the tenant (`linkUser`): only that user, signed in, opens it;
 * - any other subject (a client key's, `shared`): only an owner/admin of the tenant or the operator, after
 *   confirming whose connection it becomes, since that person's account serves whoever calls as the subject;
 *   `linkAloneConnects` (config `connectLinks.unsafeLinkAloneConnects`) lets whoever holds the link open it.
 */
export function decideLinkOpener(
  subject: string,
  linkUser: { readonly id: string } | undefined,
  opener: LinkOpener,
  options: { readonly linkAloneConnects: boolean; readonly confirmed: boolean },
): LinkOpening {
  if (linkUser !== undefined) {
    if (opener.user?.id === subject) return { kind: 'open' };
    return opener.user === undefined && !opener.admin
      ? { kind: 'sign_in', as: 'user' }
      : { kind: 'refused', reason: 'other_user' };
  }
  if (options.linkAloneConnects) return { kind: 'open' };
  if (opener.admin) return options.confirmed ? { kind: 'open' } : { kind: 'confirm' };
  return opener.user === undefined ? { kind: 'sign_in', as: 'admin' } : { kind: 'refused', reason: 'not_admin' };
}

/**
 * Who must open a connect link of `subject`, in the words of the message a tool call answers with (the agent passes
 * it on to its user): the rule of `decideLinkOpener`, so a model is never told to ask someone who will be refused.
 */
export function describeLinkOpener(
  tenant: string,
  subject: string,
  linkUser: { readonly name: string } | undefined,
  linkAloneConnects: boolean,
): string {
  if (linkUser !== undefined) return `${linkUser.name}, signed in to the gateway,`;
  if (linkAloneConnects) return 'the user';
  return `an owner or admin of tenant ${tenant} (signed in to the gateway; they confirm that the connection serves ${subject === 'shared' ? 'everyone using the shared connection' : subject})`;
}
