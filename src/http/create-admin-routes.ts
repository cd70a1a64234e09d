import { createHash, timingSafeEqual } from 'node:crypto';
import type { ServerResponse } from 'node:http';
import { z } from 'zod';
import { addressBudgetOf, GatehouseError } from '../core/index.ts';
import type { Limiter } from '../store/index.ts';
import {
  type ApiTokenCaller,
  operatorActor,
  readCookie,
  type SignedInUser,
  sameToken,
  sessionCookieName,
  type TenantRole,
} from '../users/index.ts';
import type { HttpContext, HttpRoute, HttpRouteMethod } from './create-router.ts';

/** One admin API operation under `/api/v1`. Handlers get the verified admin request and answer JSON. */
export interface AdminRoute {
  readonly method: HttpRouteMethod;
  /** Path below `/api/v1`, e.g. `/tenants/:tenant/connections`. */
  readonly path: string;
  /** One line for `/api/v1/openapi.json`. */
  readonly summary: string;
  /** Query parameters the route reads: name -> one line (all optional), for `/api/v1/openapi.json`. */
  readonly query?: Readonly<Record<string, string>>;
  /** Fields of the JSON request body, for `/api/v1/openapi.json` (routes without a `requestSchema`). */
  readonly body?: Readonly<Record<string, AdminBodyField>>;
  /**
   * The JSON request body as a zod schema (the config file's schema for tenant resources): the OpenAPI document
   * shows it as JSON Schema, so the two cannot drift.
   */
  readonly requestSchema?: z.ZodType;
  /** The JSON answer of a success, as a zod schema, for the OpenAPI document. */
  readonly responseSchema?: z.ZodType;
  /** Largest request body, bytes (default: the app's limit, 1 MiB): an uploaded description is larger. */
  readonly bodyLimit?: number;
  /**
   * The tenant roles that may call this route (the operator's admin token always may); `[]`: the operator only.
   * Required, so that no route can be added without saying who may call it.
   */
  readonly roles: readonly TenantRole[];
  handle(context: AdminContext): Promise<AdminAnswer> | AdminAnswer;
}

/**
 * Who is calling: the operator (the admin token; super-admin across tenants), or a user of one tenant with their
 * roles there, through a personal API token (scripts) or a session cookie plus `X-CSRF-Token` (browsers).
 */
export type AdminCaller =
  | { readonly kind: 'operator' }
  | {
      readonly kind: 'user';
      readonly tenant: string;
      readonly userId: string;
      readonly name: string;
      readonly roles: readonly TenantRole[];
      readonly via: 'api_token' | 'session';
    };

/** Users as admin API callers (structurally the gateway's `users` and their `roles`). */
export interface AdminUserAuthentication {
  authenticateApiToken(token: string): Promise<ApiTokenCaller | undefined>;
  activeSession(
    tenant: string,
    cookieHeader: string | undefined,
  ): Promise<{ readonly user: SignedInUser; readonly csrfToken: string } | undefined>;
  rolesOf(tenant: string, userId: string): Promise<readonly TenantRole[]>;
}

/** One field of an admin request body as the description shows it. */
export interface AdminBodyField {
  readonly type: 'string' | 'string[]' | 'integer';
  readonly required?: boolean;
  readonly description: string;
}

export interface AdminContext extends HttpContext {
  /** The request body parsed as JSON (an object); `invalid_request` when it is not. */
  readJson(): Promise<Record<string, unknown>>;
  readonly query: URLSearchParams;
  readonly caller: AdminCaller;
  /**
   * The caller as audit records name them: `operator` (the admin token, the same name as the console's operator
   * session: one person, one name) or `user:<id>`.
   */
  readonly actor: string;
}

/** A JSON answer, or a raw writer for streams such as NDJSON exports. */
export type AdminAnswer =
  | { readonly status?: number; readonly body: unknown; readonly headers?: Readonly<Record<string, string>> }
  | { readonly stream: (res: ServerResponse) => Promise<void> };

export interface AdminRoutesOptions {
  /** The admin bearer token; without one the admin API answers 401 to everything. */
  readonly adminToken: string | undefined;
  readonly routes: readonly AdminRoute[];
  /** Users as callers (personal API tokens, session cookies); absent: the admin token only. */
  readonly users?: AdminUserAuthentication;
  /**
   * Called for every request refused for want of a valid credential (401) or of a role that allows the route
   * (403), before the answer is sent. Must not throw or block; `tenant` is the raw `:tenant` path segment
   * (untrusted: the caller decides whether it is a real tenant).
   */
  readonly onDenied?: (denial: AdminDenial) => void;
  /**
   * Wrong tokens allowed per client address (`HttpContext.clientAddress`) per minute, counted by `limiter` (Redis in a fleet:
   * one budget for every process). An address over it is refused every token, the right one too (a right token
   * answered differently would still tell a guesser when it guessed), until its wait is over. Right tokens are never
   * counted. Absent: no budget (tests).
   */
  readonly failedTokens?: {
    readonly limiter: Pick<Limiter, 'admit'>;
    /** Default 30. */
    readonly perMinute?: number;
    /** Epoch milliseconds. */
    readonly now: () => number;
  };
}

/** Most addresses held as refused at once; past it the expired ones are dropped, then the oldest. */
const maxRefusedAddresses = 10_000;

/** A request the admin API refused with 401 or 403. Holds no header or token, only the route and why. */
export interface AdminDenial {
  readonly tenant: string | undefined;
  readonly method: string;
  /** The route template, e.g. `/api/v1/tenants/:tenant/audit`. */
  readonly route: string;
  readonly code: 'unauthenticated' | 'forbidden';
  readonly reason:
    | 'missing_token'
    | 'wrong_token'
    | 'admin_api_disabled'
    | 'role_not_allowed'
    | 'other_tenant'
    | 'csrf_token_missing'
    | 'too_many_wrong_tokens';
  /** Who was refused a role (403 only): `user:<id>`. */
  readonly subject?: string;
  readonly requestId: string;
}

/**
 * The role sets routes declare, named by what they allow (users/tenant-roles.ts says what each role is for):
 * configuration by owners and admins, approval decisions by owners and approvers, the audit log for owners,
 * approvers and auditors, usage for owners, admins and auditors, own connections for members too.
 */
export const adminRoleSets = {
  configure: ['owner', 'admin'],
  decideApprovals: ['owner', 'approver'],
  readAudit: ['owner', 'approver', 'auditor'],
  readUsage: ['owner', 'admin', 'auditor'],
  connections: ['owner', 'admin', 'member'],
  anyRole: ['owner', 'admin', 'approver', 'member', 'auditor'],
} as const satisfies Record<string, readonly TenantRole[]>;

const prefix = '/api/v1';
const safeMethods: ReadonlySet<string> = new Set(['GET', 'HEAD']);

/**
 * The admin API. Every route, including its own description, needs a caller: the operator's admin token
 * (`Authorization: Bearer`, compared in constant time over SHA-256 digests, so neither length nor content leaks
 * through timing), a user's personal API token (`Bearer gatehouse_pat_...`), or a user's session cookie with the
 * session's CSRF token in `X-CSRF-Token` on every unsafe method. A user may call a route only in their own tenant
 * and only when one of their roles is in the route's `roles`. Admin answers never contain a stored secret.
 */
export function createAdminRoutes(options: AdminRoutesOptions): HttpRoute[] {
  const expected = options.adminToken === undefined ? undefined : digest(options.adminToken);
  const described: AdminRoute = {
    method: 'GET',
    path: '/openapi.json',
    summary: 'This description of the admin API',
    roles: adminRoleSets.anyRole,
    handle: () => ({ body: describeAdminRoutes([described, ...options.routes]) }),
  };

  const failedTokens = options.failedTokens;
  const failedPerMinute = failedTokens?.perMinute ?? 30;
  /** Addresses (`addressBudgetOf`: an IPv6 /64 is one) over their wrong-token budget, and until when (epoch ms). */
  const refusedUntil = new Map<string, number>();

  /** Seconds `address` must still wait, or 0 when it may present a token. */
  function waitOf(address: string): number {
    const until = refusedUntil.get(address);
    if (until === undefined || failedTokens === undefined) return 0;
    const left = until - failedTokens.now();
    if (left > 0) return Math.ceil(left / 1000);
    refusedUntil.delete(address);
    return 0;
  }

  /** Counts a wrong token from `address`; the seconds it must now wait when that was one too many, else 0. */
  async function countWrongToken(address: string): Promise<number> {
    if (failedTokens === undefined) return 0;
    const admitted = await failedTokens.limiter.admit([
      {
        kind: 'rate',
        key: `admin:wrong-token:addr:${address}`,
        limit: 'admin_api_wrong_tokens.address',
        perMinute: failedPerMinute,
        burst: failedPerMinute,
      },
    ]);
    if (admitted.admitted) {
      admitted.release();
      return 0;
    }
    if (refusedUntil.size >= maxRefusedAddresses) {
      for (const known of refusedUntil.keys()) waitOf(known);
      if (refusedUntil.size >= maxRefusedAddresses) refusedUntil.delete(refusedUntil.keys().next().value as string);
    }
    refusedUntil.set(address, failedTokens.now() + admitted.retryAfterSeconds * 1000);
    return admitted.retryAfterSeconds;
  }

  function tooManyWrongTokens(route: AdminRoute, context: HttpContext, waitSeconds: number): never {
    context.res.setHeader('retry-after', String(waitSeconds));
    reportDenial(route, context, 'unauthenticated', 'too_many_wrong_tokens');
    throw new GatehouseError(
      'rate_limited',
      `Too many wrong tokens from your address: every token is refused for ${waitSeconds} more seconds`,
      { retryAfterSeconds: waitSeconds },
    );
  }

  async function authenticate(context: HttpContext): Promise<AdminCaller | AdminDenial['reason']> {
    const authorization = context.req.headers.authorization;
    if (authorization !== undefined) {
      const match = /^Bearer[ ]+(\S+)[ ]*$/i.exec(authorization);
      if (!match?.[1]) return 'missing_token';
      const token = match[1];
      if (expected !== undefined && timingSafeEqual(digest(token), expected)) return { kind: 'operator' };
      const user = await options.users?.authenticateApiToken(token);
      if (user !== undefined) return { kind: 'user', ...user, via: 'api_token' };
      return expected === undefined && options.users === undefined ? 'admin_api_disabled' : 'wrong_token';
    }
    const tenant = context.params['tenant'];
    const cookie = context.req.headers.cookie;
    if (tenant !== undefined && options.users !== undefined && readCookie(cookie, sessionCookieName) !== undefined) {
      const session = await options.users.activeSession(tenant, cookie);
      if (session === undefined) return 'wrong_token';
      if (!safeMethods.has(context.req.method ?? 'GET')) {
        // A cross-site form can carry the cookie, never this header: the session's CSRF token proves the page.
        const sent = context.req.headers['x-csrf-token'];
        if (typeof sent !== 'string' || !sameToken(sent, session.csrfToken)) return 'csrf_token_missing';
      }
      return {
        kind: 'user',
        tenant,
        userId: session.user.id,
        name: session.user.name,
        roles: await options.users.rolesOf(tenant, session.user.id),
        via: 'session',
      };
    }
    return expected === undefined && options.users === undefined ? 'admin_api_disabled' : 'missing_token';
  }

  function refusalOf(
    route: AdminRoute,
    caller: AdminCaller,
    tenant: string | undefined,
  ): AdminDenial['reason'] | undefined {
    if (caller.kind === 'operator') return undefined;
    if (tenant !== undefined && tenant !== caller.tenant) return 'other_tenant';
    if (!route.roles.some((role) => caller.roles.includes(role))) return 'role_not_allowed';
    return undefined;
  }

  function reportDenial(
    route: AdminRoute,
    context: HttpContext,
    code: AdminDenial['code'],
    reason: AdminDenial['reason'],
    subject?: string,
  ): void {
    try {
      options.onDenied?.({
        tenant: context.params['tenant'],
        method: route.method,
        route: `${prefix}${route.path}`,
        code,
        reason,
        ...(subject === undefined ? {} : { subject }),
        requestId: context.requestId,
      });
    } catch {
      // Recording a denial never changes the answer.
    }
  }

  function deny(route: AdminRoute, context: HttpContext, reason: AdminDenial['reason'], subject?: string): never {
    const code =
      reason === 'missing_token' || reason === 'wrong_token' || reason === 'admin_api_disabled'
        ? 'unauthenticated'
        : 'forbidden';
    reportDenial(route, context, code, reason, subject);
    // Saying that no token is configured tells a caller nothing it could use: there is nothing to guess.
    if (reason === 'admin_api_disabled') {
      throw new GatehouseError(
        'unauthenticated',
        'The admin API is disabled: no admin token is configured (set adminToken or GATEHOUSE_ADMIN_TOKEN)',
      );
    }
    if (code === 'unauthenticated') {
      throw new GatehouseError(
        'unauthenticated',
        'The admin API needs Authorization: Bearer <admin token or personal API token>, or a session cookie',
      );
    }
    if (reason === 'csrf_token_missing') {
      throw new GatehouseError('forbidden', 'A session-authenticated change needs the X-CSRF-Token header');
    }
    throw new GatehouseError(
      'forbidden',
      reason === 'other_tenant'
        ? 'Your credential is for another tenant'
        : `This route needs one of the roles: ${route.roles.length === 0 ? 'operator (admin token)' : route.roles.join(', ')}`,
      { roles: route.roles.length === 0 ? ['operator'] : [...route.roles] },
    );
  }

  return [described, ...options.routes].map((route) => ({
    method: route.method,
    path: `${prefix}${route.path}`,
    ...(route.bodyLimit === undefined ? {} : { bodyLimit: route.bodyLimit }),
    handle: async (context) => {
      const address = addressBudgetOf(context.clientAddress);
      const wait = waitOf(address);
      if (wait > 0) tooManyWrongTokens(route, context, wait);
      const caller = await authenticate(context);
      // Bearer tokens only: a stale session cookie (a browser signed in to another tenant) guesses nothing.
      if (caller === 'wrong_token' && context.req.headers.authorization !== undefined) {
        const waitNow = await countWrongToken(address);
        if (waitNow > 0) tooManyWrongTokens(route, context, waitNow);
      }
      if (typeof caller === 'string') deny(route, context, caller);
      const refused = refusalOf(route, caller, context.params['tenant']);
      if (refused !== undefined)
        deny(route, context, refused, caller.kind === 'user' ? `user:${caller.userId}` : undefined);
      const url = new URL(context.req.url ?? '/', 'http://admin');
      const answer = await route.handle({
        ...context,
        query: url.searchParams,
        caller,
        actor: caller.kind === 'operator' ? operatorActor : `user:${caller.userId}`,
        readJson: async () => {
          const text = (await context.readBody()).toString('utf8');
          let value: unknown;
          try {
            value = JSON.parse(text === '' ? '{}' : text);
          } catch {
            throw new GatehouseError('invalid_request', 'The request body is not valid JSON');
          }
          if (value === null || typeof value !== 'object' || Array.isArray(value)) {
            throw new GatehouseError('invalid_request', 'The request body must be a JSON object');
          }
          return value as Record<string, unknown>;
        },
      });
      if ('stream' in answer) return answer.stream(context.res);
      const body = JSON.stringify(answer.body);
      context.res
        .writeHead(answer.status ?? 200, {
          'content-type': 'application/json',
          'content-length': Buffer.byteLength(body),
          'cache-control': 'no-store',
          ...(answer.headers ?? {}),
        })
        .end(body);
    },
  }));
}

function digest(value: string): Buffer {
  return createHash('sha256').update(value).digest();
}

/**
 * The admin API as an OpenAPI 3.1 document, built from the route table itself so it cannot drift: every route with
 * its path parameters, query parameters, request and answer schemas (JSON Schema generated from the same zod
 * schemas that validate them), the roles that may call it (`x-gatehouse-roles`), the three ways to authenticate,
 * and the problem+json errors every route can answer.
 */
export function describeAdminRoutes(routes: readonly AdminRoute[]) {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const route of routes) {
    const path = `${prefix}${route.path.replace(/:([A-Za-z]+)/g, '{$1}')}`;
    const pathParameters = [...route.path.matchAll(/:([A-Za-z]+)/g)].map((match) => ({
      name: match[1],
      in: 'path',
      required: true,
      schema: { type: 'string' },
    }));
    const queryParameters = Object.entries(route.query ?? {}).map(([name, description]) => ({
      name,
      in: 'query',
      required: false,
      description,
      schema: { type: 'string' },
    }));
    const parameters = [...pathParameters, ...queryParameters];
    const body =
      route.requestSchema !== undefined
        ? toJsonSchema(route.requestSchema, 'input')
        : route.body === undefined
          ? undefined
          : toBodySchema(route.body);
    const creates = route.method === 'POST' && body !== undefined;
    const writes = route.method !== 'GET' && route.method !== 'HEAD';
    paths[path] ??= {};
    (paths[path] as Record<string, unknown>)[route.method.toLowerCase()] = {
      summary: route.summary,
      'x-gatehouse-roles': route.roles.length === 0 ? ['operator'] : ['operator', ...route.roles],
      ...(parameters.length > 0 ? { parameters } : {}),
      ...(body === undefined
        ? {}
        : { requestBody: { required: true, content: { 'application/json': { schema: body } } } }),
      security: [{ adminToken: [] }, { apiToken: [] }, { sessionCookie: [], csrfToken: [] }],
      responses: {
        [creates ? '201' : '200']: {
          description: 'Success (JSON)',
          ...(route.responseSchema === undefined
            ? {}
            : { content: { 'application/json': { schema: toJsonSchema(route.responseSchema, 'output') } } }),
        },
        '400': { $ref: '#/components/responses/Problem' },
        '401': { $ref: '#/components/responses/Problem' },
        '403': { $ref: '#/components/responses/Problem' },
        '404': { $ref: '#/components/responses/Problem' },
        ...(writes
          ? {
              '409': { $ref: '#/components/responses/Problem' },
              '412': { $ref: '#/components/responses/Problem' },
              '422': { $ref: '#/components/responses/Problem' },
            }
          : {}),
      },
    };
  }
  return {
    openapi: '3.1.0',
    info: {
      title: 'Gatehouse admin API',
      version: '1',
      description:
        'Every route needs a caller: the operator (Authorization: Bearer <admin token>), a user with a personal ' +
        'API token (Bearer gatehouse_pat_...), or a signed-in user (session cookie, X-CSRF-Token on changes), whose ' +
        "roles in the tenant must include one of the route's x-gatehouse-roles. Errors are " +
        'application/problem+json with a stable code.',
    },
    components: {
      securitySchemes: {
        adminToken: { type: 'http', scheme: 'bearer', description: "The operator's admin token (super-admin)" },
        apiToken: { type: 'http', scheme: 'bearer', description: 'A personal API token of a user (gatehouse_pat_...)' },
        sessionCookie: { type: 'apiKey', in: 'cookie', name: sessionCookieName },
        csrfToken: { type: 'apiKey', in: 'header', name: 'X-CSRF-Token' },
      },
      responses: {
        Problem: {
          description: 'An error (RFC 9457 problem details) with a stable `code`',
          content: {
            'application/problem+json': {
              schema: {
                type: 'object',
                properties: {
                  type: { type: 'string' },
                  title: { type: 'string' },
                  status: { type: 'integer' },
                  detail: { type: 'string' },
                  code: { type: 'string' },
                  details: { type: 'object', description: 'Non-secret context, e.g. `field`: the path of a bad field' },
                },
              },
            },
          },
        },
      },
    },
    security: [{ adminToken: [] }],
    paths,
  };
}

/**
 * A JSON request body checked against the route's `requestSchema`: the parsed value, or `invalid_request` (400)
 * naming the first wrong field in `details.field` (zod's messages never include the value, so nothing is echoed).
 */
export function parseAdminBody<T extends z.ZodType>(schema: T, body: unknown): z.output<T> {
  const parsed = schema.safeParse(body);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0] as z.core.$ZodIssue;
  const path = issue.code === 'unrecognized_keys' ? [...issue.path, issue.keys[0] as string] : issue.path;
  const field = path.map(String).join('.') || '(body)';
  throw new GatehouseError('invalid_request', `${field}: ${issue.message}`, { field });
}

/** A zod schema as JSON Schema 2020-12 (OpenAPI 3.1's dialect); what zod cannot express becomes `{}`. */
function toJsonSchema(schema: z.ZodType, io: 'input' | 'output'): Record<string, unknown> {
  const json = z.toJSONSchema(schema, { target: 'draft-2020-12', io, unrepresentable: 'any' }) as Record<
    string,
    unknown
  >;
  const { $schema: _dialect, ...rest } = json;
  return rest;
}

function toBodySchema(fields: Readonly<Record<string, AdminBodyField>>) {
  const properties: Record<string, unknown> = {};
  for (const [name, field] of Object.entries(fields)) {
    properties[name] =
      field.type === 'string[]'
        ? { type: 'array', items: { type: 'string' }, description: field.description }
        : { type: field.type, description: field.description };
  }
  const required = Object.entries(fields)
    .filter(([, field]) => field.required === true)
    .map(([name]) => name);
  return { type: 'object', properties, ...(required.length > 0 ? { required } : {}), additionalProperties: false };
}
