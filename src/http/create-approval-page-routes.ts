import { randomBytes, timingSafeEqual } from 'node:crypto';
import type { ServerResponse } from 'node:http';
import { GatehouseError, isGatehouseError } from '../core/index.ts';
import type { ApprovalView, Gateway } from '../gateway/index.ts';
import type { HttpRoute } from './create-router.ts';

const csrfCookie = 'gatehouse_approval_csrf';
const formLimit = 8 * 1024;

/**
 * The approval page behind an approval link: `GET /approvals/:id?tenant=T&sig=S` shows who asked for which
 * tool with which arguments (HTML-escaped) and offers Approve / Deny; `POST /approvals/:id` decides. The link
 * token (`sig`) is the capability: a wrong or missing one is the same 404 as an unknown id. The POST also
 * needs the CSRF token set by the GET (a SameSite=Strict cookie that must equal the form field) and passes the
 * app's Origin/Host check, so another site cannot submit the form in the approver's browser.
 */
export function createApprovalPageRoutes(gateway: Gateway, options: { readonly publicUrl: string }): HttpRoute[] {
  const secure = options.publicUrl.startsWith('https:');
  return [
    {
      method: 'GET',
      path: '/approvals/:id',
      handle: async ({ req, res, params }) => {
        const url = new URL(req.url ?? '/', 'http://page');
        const tenant = url.searchParams.get('tenant') ?? '';
        const sig = url.searchParams.get('sig') ?? '';
        const approval = await open(gateway, tenant, params['id'] as string, sig);
        const csrf = randomBytes(24).toString('base64url');
        res.setHeader(
          'set-cookie',
          `${csrfCookie}=${csrf}; Path=/approvals/; HttpOnly; SameSite=Strict; Max-Age=3600${secure ? '; Secure' : ''}`,
        );
        writeHtml(res, 200, renderApproval(approval, { tenant, sig, csrf }));
      },
    },
    {
      method: 'POST',
      path: '/approvals/:id',
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
        const id = params['id'] as string;
        await open(gateway, tenant, id, form.get('sig') ?? '');
        const choice = form.get('decision');
        if (choice !== 'approve' && choice !== 'deny') {
          throw new GatehouseError('invalid_request', 'decision: expected approve or deny');
        }
        const decided = await gateway.approvals!.decide(
          tenant,
          id,
          choice === 'approve' ? 'approved' : 'denied',
          'approval link',
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

function renderApproval(approval: ApprovalView, form: { tenant: string; sig: string; csrf: string }): string {
  const pending = approval.status === 'pending';
  const hidden = (name: string, value: string) => `<input type="hidden" name="${name}" value="${escapeHtml(value)}">`;
  return page(
    `Approve ${approval.tool}?`,
    `<dl>
<dt>Tenant</dt><dd>${escapeHtml(approval.tenant)}</dd>
<dt>Toolset</dt><dd>${escapeHtml(approval.toolset)}</dd>
<dt>Tool</dt><dd><code>${escapeHtml(approval.tool)}</code></dd>
<dt>Asked by</dt><dd>client key ${escapeHtml(approval.clientKey)}, on behalf of ${escapeHtml(approval.subject)}</dd>
<dt>Requested</dt><dd>${escapeHtml(approval.requestedAt)} (expires ${escapeHtml(approval.expiresAt)})</dd>
<dt>Status</dt><dd>${escapeHtml(approval.status)}</dd>
</dl>
<h2>Arguments</h2>
<pre>${escapeHtml(JSON.stringify(approval.arguments, null, 2))}</pre>
${
  pending
    ? `<form method="post" action="/approvals/${encodeURIComponent(approval.id)}">
${hidden('tenant', form.tenant)}${hidden('sig', form.sig)}${hidden('csrf', form.csrf)}
<button type="submit" name="decision" value="approve">Approve this call once</button>
<button type="submit" name="decision" value="deny">Deny</button>
</form>`
    : '<p>This request is no longer pending.</p>'
}`,
  );
}

function renderDecided(approval: ApprovalView): string {
  const verb = approval.status === 'approved' ? 'approved' : 'denied';
  return page(
    `Call ${verb}`,
    `<p>${escapeHtml(approval.tool)} was ${verb}. ${
      verb === 'approved'
        ? 'The agent may now run this exact call once, until ' + escapeHtml(approval.expiresAt) + '.'
        : ''
    }</p>`,
  );
}

function page(title: string, body: string): string {
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width">
<title>${escapeHtml(title)} - Gatehouse</title>
<style>body{font:16px system-ui,sans-serif;max-width:44rem;margin:2rem auto;padding:0 1rem}pre{background:#f4f4f4;padding:1rem;overflow:auto}dt{font-weight:600}button{font-size:1rem;margin-right:1rem;padding:.5rem 1rem}</style>
</head><body><h1>${escapeHtml(title)}</h1>${body}</body></html>`;
}

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (ch) => `&#${ch.charCodeAt(0)};`);
}

function writeHtml(res: ServerResponse, status: number, html: string): void {
  res.writeHead(status, {
    'content-type': 'text/html; charset=utf-8',
    'content-length': Buffer.byteLength(html),
    'cache-control': 'no-store',
    // `same-origin`, not `no-referrer`: under `no-referrer` Chromium posts the form with `Origin: null`, so the
    // browser would not say where the post came from (CP-02). The link's token still never leaves this origin.
    'referrer-policy': 'same-origin',
    'x-frame-options': 'DENY',
    'content-security-policy':
      "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'",
  });
  res.end(html);
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
