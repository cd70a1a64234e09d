import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { ServerResponse } from 'node:http';
import { type AuditLog, createTenantRecordCap } from '../audit/index.ts';
import { escapeHtml, GatehouseError, isGatehouseError, systemClock } from '../core/index.ts';
import type { ApprovalView, Gateway } from '../gateway/index.ts';
import { createMemoryLimiter } from '../policy/index.ts';
import type { Limiter, LimitRule } from '../store/index.ts';
import type { HttpRoute } from './create-router.ts';
import { formPageHeaders, renderHtmlPage, shown, writeHtmlPage } from './html-page.ts';

const csrfCookie = 'gatehouse_approval_csrf';
const sessionCookiePrefix = 'gatehouse_approver_';
const formLimit = 8 * 1024;
/** How long an approver stays signed in on the approval page of one tenant. */
const sessionSeconds = 15 * 60;

export interface ApprovalPageOptions {
  readonly publicUrl: string;
  /** The admin token: it signs an approver in for every tenant. */
  readonly adminToken?: string | undefined;
  /**
   * A tenant's `approverToken`, which signs an approver in for that tenant: read on every attempt from the tenants
   * served now, so one created or changed at run time takes effect at once (issue 14).
   */
  readonly approverTokenOf?: (tenant: string) => string | undefined;
  /**
   * `approvals.unsafeLinkAloneApproves`: whoever holds the link decides, no sign-in (review finding 7: an agent
   * that can fetch the link from its own tool result can then approve its own call). Default false.
   */
  readonly linkAloneApproves?: boolean;
  /** Milliseconds clock for sessions (default `Date.now`). */
  readonly now?: () => number;
  /**
   * Counts approver-token attempts (review break of finding 7: the page was an unthrottled, unaudited oracle for
   * the approver and admin tokens). The shared Redis limiter when one is configured, so every process draws on
   * one budget; otherwise one in memory per process.
   */
  readonly limiter?: Pick<Limiter, 'admit'>;
  /** Budgets of token attempts; see `defaultTokenAttempts`. */
  readonly tokenAttempts?: Partial<TokenAttemptLimits>;
  /** Where refused attempts are recorded (`approver_denied`, capped per tenant like `admin_denied`). */
  readonly audit?: Pick<AuditLog, 'recordSecurityEvent'> | undefined;
  readonly onAuditError?: (error: unknown) => void;
}

/** How many approver-token attempts the page takes without a signed-in session. */
export interface TokenAttemptLimits {
  /** Per approval request, per minute (also the burst). */
  readonly perApprovalPerMinute: number;
  /** Per tenant, all its approval requests together, per minute (also the burst). */
  readonly perTenantPerMinute: number;
  /**
   * Per approval request per day: beyond it the request is locked against token attempts (one more every
   * 1440 / lockoutAfter minutes, longer than a request lives by default).
   */
  readonly lockoutAfter: number;
  /** Most `approver_denied` audit records per tenant per minute; further refusals are not recorded. */
  readonly auditPerMinute: number;
}

export const defaultTokenAttempts: TokenAttemptLimits = {
  perApprovalPerMinute: 5,
  perTenantPerMinute: 30,
  lockoutAfter: 20,
  auditPerMinute: 60,
};

type ApproverKind = 'admin' | 'tenant';
type PageState = 'sign_in' | 'signed_in' | 'link_alone' | 'no_approver';

/**
 * The approval page behind an approval link: `GET /approvals/:id?tenant=T&sig=S` shows who asked for which tool
 * with which arguments (HTML-escaped, invisible and bidi characters shown as marks, CP-04) and offers Approve /
 * Deny; `POST /approvals/:id` decides. The link token (`sig`) opens the page: a wrong or missing one is the same 404
 * as an unknown id. Deciding also needs an approver (review finding 7): the link travels in the agent's own tool
 * result, so by default the POST must carry a credential the agent never holds, the tenant's `approverToken` or
 * the admin token, typed on the page; a correct one also signs the browser in for 15 minutes (an HttpOnly,
 * SameSite=Strict cookie, an HMAC keyed by that credential, so every process accepts it and rotating the
 * credential ends it). The POST also needs the CSRF token set by the GET (a SameSite=Strict cookie that must equal
 * the form field) and passes the app's Origin/Host check, so another site cannot submit the form in the
 * approver's browser.
 */
export function createApprovalPageRoutes(gateway: Gateway, options: ApprovalPageOptions): HttpRoute[] {
  const secure = options.publicUrl.startsWith('https:');
  const now = options.now ?? Date.now;
  const cookieFlags = `Path=/approvals/; HttpOnly; SameSite=Strict${secure ? '; Secure' : ''}`;
  const attempts: TokenAttemptLimits = { ...defaultTokenAttempts, ...options.tokenAttempts };
  const limiter = options.limiter ?? createMemoryLimiter(systemClock);
  const admitRecord = createTenantRecordCap({ maxPerMinute: attempts.auditPerMinute, now });

  /**
   * Charges one token attempt on `approval` of `tenant` against every budget at once (nothing is charged when one
   * refuses). Every attempt counts, right or wrong: the page cannot know which before comparing, and comparing is
   * what the budget guards. A right one signs the browser in, so an approver spends one.
   */
  async function admitAttempt(tenant: string, approval: string) {
    const base = `${tenant}:approval-page`;
    const rules: LimitRule[] = [
      {
        kind: 'rate',
        key: `${base}:tenant`,
        limit: 'approval_page.tenant',
        perMinute: attempts.perTenantPerMinute,
        burst: attempts.perTenantPerMinute,
      },
      {
        kind: 'rate',
        key: `${base}:a:${approval}`,
        limit: 'approval_page.approval',
        perMinute: attempts.perApprovalPerMinute,
        burst: attempts.perApprovalPerMinute,
      },
      // The lockout: `lockoutAfter` attempts a day (then one every 72 minutes with 20).
      {
        kind: 'rate',
        key: `${base}:lock:${approval}`,
        limit: 'approval_page.lockout',
        perMinute: attempts.lockoutAfter / 1440,
        burst: attempts.lockoutAfter,
      },
    ];
    return limiter.admit(rules);
  }

  /** An `approver_denied` record, within the tenant's per-minute cap (anyone holding a link can cause them). */
  function recordDenial(tenant: string, approval: string, code: 'unauthenticated' | 'rate_limited', detail: string) {
    if (options.audit === undefined || !admitRecord(tenant)) return;
    void options.audit
      .recordSecurityEvent({
        tenant,
        event: 'approver_denied',
        decision: 'deny',
        code,
        detail,
        target: `approval:${approval}`,
      })
      .catch((error: unknown) => options.onAuditError?.(error));
  }

  function credentialsOf(tenant: string): { kind: ApproverKind; token: string }[] {
    const found: { kind: ApproverKind; token: string }[] = [];
    const own = options.approverTokenOf?.(tenant);
    if (own !== undefined) found.push({ kind: 'tenant', token: own });
    if (options.adminToken !== undefined) found.push({ kind: 'admin', token: options.adminToken });
    return found;
  }

  /** Which approver credential `typed` is for `tenant`, if any (compared in constant time). */
  function checkToken(tenant: string, typed: string): ApproverKind | undefined {
    return credentialsOf(tenant).find((c) => sameText(c.token, typed))?.kind;
  }

  function sessionMac(tenant: string, kind: ApproverKind, token: string, expires: number): string {
    const key = createHash('sha256').update(`gatehouse-approver-session-v1\n${token}`).digest();
    return createHmac('sha256', key).update(`${tenant}\n${kind}\n${expires}`).digest('base64url');
  }

  function newSession(tenant: string, kind: ApproverKind): string {
    const token = credentialsOf(tenant).find((c) => c.kind === kind)?.token as string;
    const expires = Math.floor(now() / 1000) + sessionSeconds;
    return `${kind}.${expires}.${sessionMac(tenant, kind, token, expires)}`;
  }

  /** The approver signed in through the tenant's session cookie, if it is valid now. */
  function sessionOf(cookieHeader: string | undefined, tenant: string): ApproverKind | undefined {
    const value = readCookie(cookieHeader, `${sessionCookiePrefix}${tenant}`);
    const [kind, expiresText, mac] = (value ?? '').split('.');
    const expires = Number(expiresText);
    const seconds = now() / 1000;
    if (!Number.isInteger(expires) || expires <= seconds || expires > seconds + sessionSeconds) return undefined;
    const credential = credentialsOf(tenant).find((c) => c.kind === kind);
    if (credential === undefined || mac === undefined) return undefined;
    return sameText(sessionMac(tenant, credential.kind, credential.token, expires), mac) ? credential.kind : undefined;
  }

  function stateOf(cookieHeader: string | undefined, tenant: string): PageState {
    if (options.linkAloneApproves === true) return 'link_alone';
    if (sessionOf(cookieHeader, tenant) !== undefined) return 'signed_in';
    return credentialsOf(tenant).length > 0 ? 'sign_in' : 'no_approver';
  }

  return [
    {
      method: 'GET',
      path: '/approvals/:id',
      errorFormat: 'page',
      handle: async ({ req, res, params }) => {
        const url = new URL(req.url ?? '/', 'http://page');
        const tenant = url.searchParams.get('tenant') ?? '';
        const sig = url.searchParams.get('sig') ?? '';
        const approval = await open(gateway, tenant, params['id'] as string, sig);
        const csrf = randomBytes(24).toString('base64url');
        res.setHeader('set-cookie', `${csrfCookie}=${csrf}; ${cookieFlags}; Max-Age=3600`);
        const state = stateOf(req.headers.cookie, tenant);
        writeHtml(res, 200, renderApproval(approval, { tenant, sig, csrf, state }));
      },
    },
    {
      method: 'POST',
      path: '/approvals/:id',
      errorFormat: 'page',
      bodyLimit: formLimit,
      handle: async ({ req, res, params, readBody }) => {
        const form = new URLSearchParams((await readBody()).toString('utf8'));
        const cookie = readCookie(req.headers.cookie, csrfCookie);
        const field = form.get('csrf') ?? '';
        if (cookie === undefined || !sameText(cookie, field)) {
          throw new GatehouseError(
            'forbidden_origin',
            'The approval form expired or came from another page; reload it',
          );
        }
        const tenant = form.get('tenant') ?? '';
        const sig = form.get('sig') ?? '';
        const id = params['id'] as string;
        const approval = await open(gateway, tenant, id, sig);
        const choice = form.get('decision');
        if (choice !== 'approve' && choice !== 'deny') {
          throw new GatehouseError('invalid_request', 'decision: expected approve or deny');
        }
        let by = 'approval link';
        if (options.linkAloneApproves !== true) {
          const typed = form.get('approverToken') ?? '';
          const signedIn = sessionOf(req.headers.cookie, tenant);
          if (signedIn === undefined && typed !== '') {
            const admitted = await admitAttempt(tenant, id);
            if (!admitted.admitted) {
              recordDenial(tenant, id, 'rate_limited', admitted.limit.replace('.', '_'));
              const csrf = randomBytes(24).toString('base64url');
              res.setHeader('set-cookie', `${csrfCookie}=${csrf}; ${cookieFlags}; Max-Age=3600`);
              res.setHeader('retry-after', String(admitted.retryAfterSeconds));
              writeHtml(
                res,
                429,
                renderApproval(approval, {
                  tenant,
                  sig,
                  csrf,
                  state: 'sign_in',
                  problem: 'throttled',
                  retryAfterSeconds: admitted.retryAfterSeconds,
                }),
              );
              return;
            }
          }
          const kind = signedIn ?? (typed === '' ? undefined : checkToken(tenant, typed));
          if (kind === undefined) {
            if (typed !== '') recordDenial(tenant, id, 'unauthenticated', 'wrong_token');
            // The link alone (what the agent has) does not decide: show the form again, saying what is missing.
            const csrf = randomBytes(24).toString('base64url');
            res.setHeader('set-cookie', `${csrfCookie}=${csrf}; ${cookieFlags}; Max-Age=3600`);
            const state = credentialsOf(tenant).length > 0 ? 'sign_in' : 'no_approver';
            writeHtml(
              res,
              401,
              renderApproval(approval, {
                tenant,
                sig,
                csrf,
                state,
                problem: typed === '' ? 'missing' : 'wrong',
              }),
            );
            return;
          }
          if (signedIn === undefined) {
            res.setHeader(
              'set-cookie',
              `${sessionCookiePrefix}${tenant}=${newSession(tenant, kind)}; ${cookieFlags}; Max-Age=${sessionSeconds}`,
            );
          }
          by = kind === 'admin' ? 'approver (admin token)' : 'approver (tenant approver token)';
        }
        const decided = await gateway.approvals!.decide(
          tenant,
          id,
          choice === 'approve' ? 'approved' : 'denied',
          by,
          'approval_page',
        );
        writeHtml(res, 200, renderDecided(decided));
      },
    },
  ];
}

async function open(gateway: Gateway, tenant: string, id: string, sig: string): Promise<ApprovalView> {
  if (gateway.approvals === undefined || tenant === '' || sig === '') {
    throw new GatehouseError('not_found', 'No such approval request');
  }
  try {
    return await gateway.approvals.openLink(tenant, id, sig);
  } catch (error) {
    if (isGatehouseError(error) && error.code !== 'store_unavailable') {
      throw new GatehouseError('not_found', 'No such approval request');
    }
    throw error;
  }
}

interface FormState {
  readonly tenant: string;
  readonly sig: string;
  readonly csrf: string;
  readonly state: PageState;
  /** Why the last post did not decide: no approver token, one that is not an approver credential, too many tries. */
  readonly problem?: 'missing' | 'wrong' | 'throttled';
  readonly retryAfterSeconds?: number;
}

function renderApproval(approval: ApprovalView, form: FormState): string {
  const pending = approval.status === 'pending';
  const hidden = (name: string, value: string) => `<input type="hidden" name="${name}" value="${escapeHtml(value)}">`;
  const buttons = `<button type="submit" name="decision" value="approve">Approve this call once</button>
<button type="submit" name="decision" value="deny">Deny</button>`;
  const problem =
    form.problem === undefined
      ? ''
      : `<p class="problem" role="alert">${
          form.problem === 'missing'
            ? 'Nothing was decided: this link alone cannot approve. Enter an approver token.'
            : form.problem === 'throttled'
              ? `Nothing was decided: too many approver-token attempts. Try again in ${form.retryAfterSeconds ?? 60} seconds, or decide through the admin API.`
              : `Nothing was decided: that is not an approver token of tenant ${escapeHtml(approval.tenant)}.`
        } <small>Code: <code>${form.problem === 'throttled' ? 'rate_limited' : 'unauthenticated'}</code></small></p>`;
  let decide: string;
  if (!pending) {
    decide = '<p>This request is no longer pending.</p>';
  } else if (form.state === 'no_approver') {
    decide = `<p class="problem">No approver can sign in here: tenant ${escapeHtml(approval.tenant)} has no
<code>approverToken</code> and the gateway has no <code>adminToken</code>. Ask the operator to set one, or to decide
through the admin API.</p>`;
  } else {
    const signIn =
      form.state === 'sign_in'
        ? `<div class="sign-in"><p><strong>Sign in as an approver to decide.</strong> The link alone cannot approve: the
agent that asked may hold it too. Enter the approver token of tenant ${escapeHtml(approval.tenant)}, or the gateway's
admin token. The agent never holds either.</p>
<label for="approver-token">Approver token</label>
<input id="approver-token" type="password" name="approverToken" autocomplete="current-password" required>
<p class="hint">You stay signed in for this tenant for 15 minutes in this browser.</p></div>`
        : form.state === 'signed_in'
          ? '<p class="hint">Signed in as an approver of this tenant.</p>'
          : '<p class="problem">Anyone holding this link can decide (approvals.unsafeLinkAloneApproves is on).</p>';
    decide = `<form method="post" action="/approvals/${encodeURIComponent(approval.id)}">
${hidden('tenant', form.tenant)}${hidden('sig', form.sig)}${hidden('csrf', form.csrf)}
${signIn}
${buttons}
</form>`;
  }
  return page(
    `Approve ${approval.tool}?`,
    `${problem}<dl>
<dt>Tenant</dt><dd>${shown(approval.tenant)}</dd>
<dt>Toolset</dt><dd>${shown(approval.toolset)}</dd>
<dt>Tool</dt><dd><code>${shown(approval.tool)}</code></dd>
<dt>Asked by</dt><dd>client key ${shown(approval.clientKey)}, on behalf of ${shown(approval.subject)}</dd>
<dt>Requested</dt><dd>${escapeHtml(approval.requestedAt)} (expires ${escapeHtml(approval.expiresAt)})</dd>
<dt>Status</dt><dd>${escapeHtml(approval.status)}</dd>
</dl>
<h2>Arguments</h2>
<pre>${shown(JSON.stringify(approval.arguments, null, 2))}</pre>
${decide}`,
  );
}

function renderDecided(approval: ApprovalView): string {
  const verb = approval.status === 'approved' ? 'approved' : 'denied';
  return page(
    `Call ${verb}`,
    `<p>${shown(approval.tool)} was ${verb}. ${
      verb === 'approved'
        ? `The agent may now run this exact call once, until ${escapeHtml(approval.expiresAt)}. An agent waiting for this decision (a task, or the page it asked you to open) goes on by itself; otherwise tell it to call the tool again with the same arguments.`
        : 'An agent waiting for this decision is told at once; otherwise it is told so if it calls again.'
    }</p>`,
  );
}

const approvalPageStyle =
  'body{font:16px system-ui,sans-serif;max-width:44rem;margin:2rem auto;padding:0 1rem}pre{background:#f4f4f4;padding:1rem;overflow:auto}dt{font-weight:600}button{font-size:1rem;margin-right:1rem;padding:.5rem 1rem}.sign-in{border:1px solid #ccc;border-radius:6px;padding:.5rem 1rem;margin:1rem 0}.sign-in input{font-size:1rem;width:100%;box-sizing:border-box;padding:.4rem;margin:.3rem 0}.problem{color:#a00000}.hint{color:#555;font-size:.9rem}';

function page(title: string, body: string): string {
  return renderHtmlPage(title, approvalPageStyle, body);
}

/**
 * `same-origin`, not `no-referrer`: under `no-referrer` Chromium posts the form with `Origin: null`, so the browser
 * would not say where the post came from (CP-02). The link's token still never leaves this origin.
 */
function writeHtml(res: ServerResponse, status: number, html: string): void {
  writeHtmlPage(res, status, html, formPageHeaders);
}

function readCookie(header: string | undefined, name: string): string | undefined {
  for (const part of (header ?? '').split(';')) {
    const [key, ...rest] = part.trim().split('=');
    if (key === name) return rest.join('=');
  }
  return undefined;
}

function sameText(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && x.length > 0 && timingSafeEqual(x, y);
}
