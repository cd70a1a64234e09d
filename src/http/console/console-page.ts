import type { ServerResponse } from 'node:http';
import type { AuditChainReport } from '../../audit/index.ts';
import { GatehouseError, isGatehouseError } from '../../core/index.ts';
import type { Gateway, SignedInUser } from '../../gateway/index.ts';
import type { AuditRepository, UsageRepository } from '../../store/index.ts';
import type { TenantRole } from '../../users/index.ts';
import type { AlertAdminOptions } from '../create-alert-admin-routes.ts';
import type { ConsoleSection } from './render-console-page.ts';

/** What the console's pages read and change: the gateway's use cases, plus the audit log and its verification. */
export interface ConsoleDependencies {
  /** The gateway: `users` (always present when the console is served), `admin`, `approvals`, `connections`... */
  readonly gateway: Gateway & { readonly users: NonNullable<Gateway['users']> };
  /** The tenant's audit log: records for the audit page, aggregates for the overview. */
  readonly audit: Pick<AuditRepository, 'query' | 'summarize'>;
  /**
   * The daily usage rollup (calls, errors, denials, latency per day and tool); `flushOlderThan` writes this
   * process's pending counts when the oldest is at least that old (UsageRollup.flushOlderThan).
   */
  readonly usage: Pick<UsageRepository, 'summarize'> & { flushOlderThan(maxAgeMs: number): Promise<void> };
  /** Recomputes a tenant's audit hash chain (with its checkpoint key when the vault has one). */
  verifyAudit(tenant: string): Promise<AuditChainReport>;
  /** Epoch milliseconds (the overview's windows). */
  now(): number;
  /** The alert rules in force and each tenant's raised alerts (absent: the Alerts page says so). */
  readonly alerts?: Pick<AlertAdminOptions, 'rules' | 'windowSeconds' | 'dedupSeconds' | 'webhookOrigin' | 'recent'>;
  /**
   * Resolves once this process serves what the store now says (its revision check): a form that changed the tenant's
   * stored configuration answers with a page that shows the change (absent: the next check shows it).
   */
  settle?(): Promise<void>;
}

/** One request to a console page, after sign-in, the role check and (for POST) the CSRF check have passed. */
export interface ConsolePageContext {
  readonly tenant: string;
  readonly user: SignedInUser;
  /** The user's roles in the tenant (at least one of the page's `roles`). */
  readonly roles: readonly TenantRole[];
  /** How audit records and role changes name this user: `user:<id>`, or `operator` for the operator. */
  readonly actor: string;
  /**
   * The operator (signed in with the admin token) rather than a user of the tenant: `user` is a stand-in
   * (`id` and `name` `operator`) with the role `owner`, and writes are the operator's (as with the admin token).
   */
  readonly operator: boolean;
  /** The session's CSRF token: put it in every form, as `csrfField(csrfToken)` of console-html.ts. */
  readonly csrfToken: string;
  /** Decoded `:name` segments of the page's `path`. */
  readonly params: Readonly<Record<string, string>>;
  /** The query string of the request. */
  readonly query: URLSearchParams;
  /** The posted form (`application/x-www-form-urlencoded`); empty on GET. Its `csrf` field was checked. */
  readonly form: URLSearchParams;
  readonly deps: ConsoleDependencies;
}

/** What a page answers. */
export type ConsolePageResult =
  /** A page: `body` is already-escaped HTML, framed by `renderConsolePage` (header, navigation, notice). */
  | {
      readonly kind: 'page';
      readonly title: string;
      readonly body: string;
      readonly status?: number;
      readonly notice?: { readonly kind: 'ok' | 'error'; readonly text: string };
    }
  /** A 303 to another console path (after a change, so that reloading does not post again). */
  | { readonly kind: 'redirect'; readonly location: string }
  /** A download (e.g. NDJSON): the page writes the whole response itself, headers included. */
  | { readonly kind: 'stream'; write(res: ServerResponse): Promise<void> };

/**
 * One console page (a section's page, or a sub-page of a section such as the audit export). To add a page, write
 * one file exporting a `ConsolePage` and append it to `consolePages` in `console-pages.ts`; the routes, the sign-in
 * redirect, the role check, the CSRF check on POST and the security headers come with it.
 *
 * - `path` is below `/console/:tenant` and starts with `/`: `/` is the overview, `/services`, `/audit/export`.
 *   It may contain `:name` segments, read from `params`.
 * - `roles`: the tenant roles that open the page (use `adminRoleSets` from `create-admin-routes.ts`, the same sets
 *   the admin API declares, e.g. `adminRoleSets.configure`). Others get a 403 page; not signed in: a redirect to
 *   `/signin/:tenant?return=<this page>`. The operator (admin token sign-in) has the role `owner` everywhere.
 * - `get` renders the page. Every caller-supplied value must go through `shown()` (escaped, invisible characters
 *   marked) or `escapeHtml` before it is put into `body`.
 * - `post` (optional) handles the page's forms; the form's `csrf` field has been checked against the session
 *   before it runs. Use an `action` field to tell several forms of one page apart. A `GatehouseError` it throws
 *   (`invalid_request`, `not_found`, `forbidden`...) is shown on the page (`get` again, with an error notice and
 *   the error's status), so a validation message naming the field reaches the person; anything else is a 500.
 */
export interface ConsolePage {
  readonly section: ConsoleSection;
  readonly path: string;
  /** Largest form a POST may carry, bytes (default 64 KiB; a pasted or uploaded description is larger). */
  readonly bodyLimit?: number;
  readonly roles: readonly TenantRole[];
  /** A page of the signed-in user's own things (their API tokens): not shown to the operator, who is no user. */
  readonly personal?: boolean;
  get(context: ConsolePageContext): Promise<ConsolePageResult>;
  post?(context: ConsolePageContext): Promise<ConsolePageResult>;
}

/**
 * A `GatehouseError` whose message is written for the person, so a page shows it (never `internal` or
 * `store_unavailable`: those are 500s).
 */
export function isShownError(thrown: unknown): thrown is GatehouseError {
  return isGatehouseError(thrown) && thrown.code !== 'internal' && thrown.code !== 'store_unavailable';
}

/**
 * A form made from a version of a resource that is no longer the stored one (`checkFormVersion`): the console
 * answers 409 with a page saying so, what the form sent (not saved) and a link to `reload` the current version.
 */
export class StaleFormError extends GatehouseError {
  readonly reload: string;
  constructor(message: string, reload: string) {
    super('resource_conflict', message);
    this.reload = reload;
  }
}
