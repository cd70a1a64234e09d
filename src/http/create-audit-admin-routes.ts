import type { ServerResponse } from 'node:http';
import { GatehouseError, suggestFieldName } from '../core/index.ts';
import type { AuditQuery, AuditRecord, AuditRepository } from '../store/index.ts';
import { type AdminRoute, adminRoleSets } from './create-admin-routes.ts';

export interface AuditAdminRoutesOptions {
  readonly audit: Pick<AuditRepository, 'query'>;
  readonly hasTenant: (tenant: string) => boolean;
}

const defaultPage = 100;
const maxPage = 1_000;
const exportPage = 1_000;
const decisions = new Set(['allow', 'deny', 'error']);
const kinds = new Set(['tool_call', 'tool_intent', 'security']);

/** The filters both audit routes accept, as the admin API description lists them. */
const auditFilters = {
  tool: 'Only records of this tool name',
  decision: 'allow, deny or error',
  subject: 'Only records of this subject',
  status: 'Only records with this upstream HTTP status (100-599)',
  kind: 'tool_call, tool_intent or security',
  since: 'From this time on (ISO 8601 or epoch milliseconds, inclusive)',
  until: 'Before this time (ISO 8601 or epoch milliseconds, exclusive)',
} as const;

/** One audit record as the admin API shows it: times as ISO strings, the chain fields kept for offline checks. */
export function toAuditView(record: AuditRecord) {
  return {
    seq: record.seq,
    id: record.id,
    at: new Date(record.at).toISOString(),
    requestId: record.requestId,
    kind: record.kind,
    event: record.event,
    toolset: record.toolset,
    clientKey: record.clientKey,
    subject: record.subject,
    tool: record.tool,
    method: record.method,
    pathTemplate: record.pathTemplate,
    decision: record.decision,
    code: record.code,
    upstreamStatus: record.upstreamStatus,
    latencyMs: record.latencyMs,
    detail: record.detail,
    target: record.target,
    fingerprint: record.fingerprint,
    prevHash: record.prevHash ?? null,
    hash: record.hash ?? null,
  };
}

/**
 * Admin routes of the audit log:
 * - `GET /tenants/:tenant/audit?tool=&decision=&subject=&status=&kind=&since=&until=&order=&limit=&cursor=`:
 *   newest first by default (`order=asc` for oldest first), at most `limit` (1-1,000, default 100) records and a
 *   `nextCursor` (opaque; pass it back unchanged with the same filters) or null at the end. `since`/`until` are ISO
 *   times or epoch milliseconds (`since` inclusive, `until` exclusive).
 * - `GET /tenants/:tenant/audit/export?<same filters>`: every matching record, oldest first, streamed as NDJSON.
 * An unknown tenant is `not_found`, exactly like a missing id (MT-01).
 */
export function createAuditAdminRoutes(options: AuditAdminRoutesOptions): AdminRoute[] {
  const tenantOf = (params: Readonly<Record<string, string | undefined>>): string => {
    const tenant = params['tenant'] ?? '';
    if (!options.hasTenant(tenant)) throw new GatehouseError('not_found', `No tenant ${tenant}`);
    return tenant;
  };
  return [
    {
      method: 'GET',
      path: '/tenants/:tenant/audit',
      summary: "Query a tenant's audit log (filters, cursor paging)",
      roles: adminRoleSets.readAudit,
      query: {
        ...auditFilters,
        order: 'desc (default, newest first) or asc',
        limit: 'Records per page, 1-1,000 (default 100)',
        cursor: 'The nextCursor of the previous page, with the same filters',
      },
      async handle({ params, query }) {
        const tenantId = tenantOf(params);
        refuseUnknownParameters(query, [...Object.keys(auditFilters), 'order', 'limit', 'cursor']);
        const filters = parseAuditFilters(query);
        const cursor = query.get('cursor');
        const order = cursor === null ? parseOrder(query.get('order')) : decodeCursor(cursor).order;
        const after = cursor === null ? undefined : decodeCursor(cursor).seq;
        const limit = parseLimit(query.get('limit'));
        const records = await options.audit.query({
          tenantId,
          ...filters,
          order,
          limit: limit + 1,
          ...(after === undefined ? {} : order === 'asc' ? { afterSeq: after } : { beforeSeq: after }),
        });
        const page = records.slice(0, limit);
        const last = page.at(-1);
        const nextCursor = records.length > limit && last?.seq !== undefined ? encodeCursor(last.seq, order) : null;
        return { body: { records: page.map(toAuditView), nextCursor } };
      },
    },
    {
      method: 'GET',
      path: '/tenants/:tenant/audit/export',
      summary: "Export a tenant's audit log as NDJSON (streamed, oldest first)",
      roles: adminRoleSets.readAudit,
      query: auditFilters,
      handle({ params, query }) {
        const tenantId = tenantOf(params);
        refuseUnknownParameters(query, Object.keys(auditFilters));
        const filters = parseAuditFilters(query);
        return {
          stream: (res: ServerResponse) => writeAuditExport(res, options.audit, tenantId, filters),
        };
      },
    },
  ];
}

/** Streams every record matching `filters`, oldest first, as NDJSON (headers included), in pages of 1,000. */
export async function writeAuditExport(
  res: ServerResponse,
  audit: Pick<AuditRepository, 'query'>,
  tenantId: string,
  filters: AuditFilters,
): Promise<void> {
  res.writeHead(200, {
    'content-type': 'application/x-ndjson',
    'content-disposition': `attachment; filename="audit-${tenantId}.ndjson"`,
    'cache-control': 'no-store',
  });
  let afterSeq = 0;
  for (;;) {
    const page = await audit.query({ tenantId, ...filters, afterSeq, limit: exportPage });
    for (const record of page) {
      if (!res.write(`${JSON.stringify(toAuditView(record))}\n`)) await waitForDrain(res);
    }
    const last = page.at(-1)?.seq;
    if (page.length < exportPage || last === undefined || res.destroyed) break;
    afterSeq = last;
  }
  res.end();
}

function waitForDrain(res: ServerResponse): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      res.off('drain', done);
      res.off('close', done);
      resolve();
    };
    res.on('drain', done);
    res.on('close', done);
  });
}

/** The filters of an audit query: tool, decision, subject, status, kind, since, until. */
export type AuditFilters = Omit<AuditQuery, 'tenantId' | 'limit' | 'order' | 'afterSeq' | 'beforeSeq'>;

/**
 * The filters of an audit query string (`tool`, `decision`, `subject`, `status`, `kind`, `since`, `until`);
 * `invalid_request` naming the parameter for a bad one. Empty values count as absent when `emptyIsAbsent`
 * (a form's blank fields).
 */
export function parseAuditFilters(query: URLSearchParams, emptyIsAbsent = false): AuditFilters {
  const filters: { -readonly [K in keyof AuditFilters]: AuditFilters[K] } = {};
  const text = (name: string) => {
    const value = query.get(name);
    if (value === null || (emptyIsAbsent && value.trim() === '')) return undefined;
    if (value.length === 0 || value.length > 200) invalid(name);
    return value;
  };
  const tool = text('tool');
  if (tool !== undefined) filters.tool = tool;
  const subject = text('subject');
  if (subject !== undefined) filters.subject = subject;
  const decision = text('decision');
  if (decision !== undefined) {
    if (!decisions.has(decision)) invalid('decision');
    filters.decision = decision as AuditFilters['decision'];
  }
  const kind = text('kind');
  if (kind !== undefined) {
    if (!kinds.has(kind)) invalid('kind');
    filters.kind = kind as AuditFilters['kind'];
  }
  const status = text('status');
  if (status !== undefined) {
    if (!/^[1-5]\d\d$/.test(status)) invalid('status');
    filters.status = Number(status);
  }
  const since = text('since');
  if (since !== undefined) filters.since = parseTime(since, 'since');
  const until = text('until');
  if (until !== undefined) filters.until = parseTime(until, 'until');
  return filters;
}

function parseTime(value: string, name: string): number {
  const millis = /^\d{1,15}$/.test(value) ? Number(value) : Date.parse(value);
  if (!Number.isFinite(millis)) invalid(name);
  return millis;
}

function parseOrder(value: string | null): 'asc' | 'desc' {
  if (value === null || value === 'desc') return 'desc';
  if (value === 'asc') return 'asc';
  return invalid('order');
}

function parseLimit(value: string | null): number {
  if (value === null) return defaultPage;
  if (!/^\d{1,4}$/.test(value) || Number(value) < 1 || Number(value) > maxPage) invalid('limit');
  return Number(value);
}

/** Cursors are opaque to clients: base64url of the last seq served and the order. */
function encodeCursor(seq: number, order: 'asc' | 'desc'): string {
  return Buffer.from(`a1.${order}.${seq}`).toString('base64url');
}

function decodeCursor(cursor: string): { seq: number; order: 'asc' | 'desc' } {
  const match = /^a1\.(asc|desc)\.(\d{1,15})$/.exec(Buffer.from(cursor, 'base64url').toString('utf8'));
  if (match === null) return invalid('cursor');
  return { order: match[1] as 'asc' | 'desc', seq: Number(match[2]) };
}

/**
 * A filter whose name is mistyped (`subjct`) would otherwise be ignored and the answer hold every record, easily
 * read as the filtered ones: refused with `invalid_request` naming it, the closest known name and the known ones.
 */
function refuseUnknownParameters(query: URLSearchParams, known: readonly string[]): void {
  for (const name of query.keys()) {
    if (known.includes(name)) continue;
    const safe = /^[A-Za-z0-9_.-]{1,64}$/.test(name) ? name : '(invalid)';
    const closest = suggestFieldName(name, known);
    const hint = closest === undefined ? '' : ` (did you mean ${closest}?)`;
    throw new GatehouseError(
      'invalid_request',
      `Unknown audit query parameter: ${safe}${hint}; known: ${known.join(', ')}`,
      { parameter: safe },
    );
  }
}

function invalid(name: string): never {
  throw new GatehouseError('invalid_request', `Invalid audit query parameter: ${name}`, { parameter: name });
}
