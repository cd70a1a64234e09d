import { createHash, timingSafeEqual } from 'node:crypto';
import type { ServerResponse } from 'node:http';
import { GatehouseError } from '../core/index.ts';
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
  /** Fields of the JSON request body, for `/api/v1/openapi.json`. */
  readonly body?: Readonly<Record<string, AdminBodyField>>;
  handle(context: AdminContext): Promise<AdminAnswer> | AdminAnswer;
}

/** One field of an admin request body as the description shows it. */
export interface AdminBodyField {
  readonly type: 'string' | 'string[]';
  readonly required?: boolean;
  readonly description: string;
}

export interface AdminContext extends HttpContext {
  /** The request body parsed as JSON (an object); `invalid_request` when it is not. */
  readJson(): Promise<Record<string, unknown>>;
  readonly query: URLSearchParams;
}

/** A JSON answer, or a raw writer for streams such as NDJSON exports. */
export type AdminAnswer =
  | { readonly status?: number; readonly body: unknown }
  | { readonly stream: (res: ServerResponse) => Promise<void> };

export interface AdminRoutesOptions {
  /** The admin bearer token; without one the admin API answers 401 to everything. */
  readonly adminToken: string | undefined;
  readonly routes: readonly AdminRoute[];
  /**
   * Called for every request refused for want of a valid admin token, before the 401 is sent. Must not throw or
   * block; `tenant` is the raw `:tenant` path segment (untrusted: the caller decides whether it is a real tenant).
   */
  readonly onDenied?: (denial: AdminDenial) => void;
}

/** A request the admin API refused with 401. Holds no header or token, only the route and why. */
export interface AdminDenial {
  readonly tenant: string | undefined;
  readonly method: string;
  /** The route template, e.g. `/api/v1/tenants/:tenant/audit`. */
  readonly route: string;
  readonly reason: 'missing_token' | 'wrong_token' | 'admin_api_disabled';
  readonly requestId: string;
}

const prefix = '/api/v1';

/**
 * The admin API: every route, including its own description, requires `Authorization: Bearer <admin token>`
 * (compared in constant time over SHA-256 digests, so neither length nor content leaks through timing).
 * Admin answers never contain a stored secret; at most a fingerprint.
 */
export function createAdminRoutes(options: AdminRoutesOptions): HttpRoute[] {
  const expected = options.adminToken === undefined ? undefined : digest(options.adminToken);
  const verify = (authorization: string | undefined): AdminDenial['reason'] | undefined => {
    const match = /^Bearer[ ]+(\S+)[ ]*$/i.exec(authorization ?? '');
    if (expected === undefined) return 'admin_api_disabled';
    if (!match?.[1]) return 'missing_token';
    if (!timingSafeEqual(digest(match[1]), expected)) return 'wrong_token';
    return undefined;
  };
  const described: AdminRoute = {
    method: 'GET',
    path: '/openapi.json',
    summary: 'This description of the admin API',
    handle: () => ({ body: describeRoutes([described, ...options.routes]) }),
  };
  return [described, ...options.routes].map((route) => ({
    method: route.method,
    path: `${prefix}${route.path}`,
    handle: async (context) => {
      const refused = verify(context.req.headers.authorization);
      if (refused !== undefined) {
        try {
          options.onDenied?.({
            tenant: context.params['tenant'],
            method: route.method,
            route: `${prefix}${route.path}`,
            reason: refused,
            requestId: context.requestId,
          });
        } catch {
          // Recording a denial never changes the answer.
        }
        // Saying that no token is configured tells a caller nothing it could use: there is nothing to guess.
        throw new GatehouseError(
          'unauthenticated',
          refused === 'admin_api_disabled'
            ? 'The admin API is disabled: no admin token is configured (set adminToken or GATEHOUSE_ADMIN_TOKEN)'
            : 'The admin API needs Authorization: Bearer <admin token>',
        );
      }
      const url = new URL(context.req.url ?? '/', 'http://admin');
      const answer = await route.handle({
        ...context,
        query: url.searchParams,
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
 * its path parameters, query parameters and body fields, the admin-token security scheme, and the problem+json
 * errors every route can answer.
 */
function describeRoutes(routes: readonly AdminRoute[]) {
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
    const body = route.body === undefined ? undefined : toBodySchema(route.body);
    paths[path] ??= {};
    (paths[path] as Record<string, unknown>)[route.method.toLowerCase()] = {
      summary: route.summary,
      ...(parameters.length > 0 ? { parameters } : {}),
      ...(body === undefined
        ? {}
        : { requestBody: { required: true, content: { 'application/json': { schema: body } } } }),
      security: [{ adminToken: [] }],
      responses: {
        [route.method === 'POST' && route.body !== undefined ? '201' : '200']: { description: 'Success (JSON)' },
        '400': { $ref: '#/components/responses/Problem' },
        '401': { $ref: '#/components/responses/Problem' },
        '404': { $ref: '#/components/responses/Problem' },
      },
    };
  }
  return {
    openapi: '3.1.0',
    info: {
      title: 'Gatehouse admin API',
      version: '1',
      description:
        'Every route needs Authorization: Bearer <admin token>. Errors are application/problem+json with a stable code.',
    },
    components: {
      securitySchemes: { adminToken: { type: 'http', scheme: 'bearer' } },
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

function toBodySchema(fields: Readonly<Record<string, AdminBodyField>>) {
  const properties: Record<string, unknown> = {};
  for (const [name, field] of Object.entries(fields)) {
    properties[name] =
      field.type === 'string[]'
        ? { type: 'array', items: { type: 'string' }, description: field.description }
        : { type: 'string', description: field.description };
  }
  const required = Object.entries(fields)
    .filter(([, field]) => field.required === true)
    .map(([name]) => name);
  return { type: 'object', properties, ...(required.length > 0 ? { required } : {}), additionalProperties: false };
}
