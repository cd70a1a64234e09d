import { createHash } from 'node:crypto';
import { z } from 'zod';
import {
  formatPath,
  GatehouseError,
  isGatehouseError,
  type TenantDocument,
  tenantResourceSchemas,
} from '../core/index.ts';
import type { ServiceDescriptions } from '../gateway/index.ts';
import type { TenantRole } from '../users/index.ts';
import { type AdminAnswer, type AdminContext, type AdminRoute, adminRoleSets } from './create-admin-routes.ts';
import { createServiceDescriptionRoutes } from './create-service-description-routes.ts';
import { maxRewriteAttempts, pauseBeforeRewrite } from './rewrite-after-conflict.ts';

/**
 * The stored tenant documents: one versioned configuration document per tenant, as written (structurally the
 * gateway's `tenantConfigs`, issue 14). `write` validates the whole tenant (`config_invalid` with `details.path`),
 * refuses a stale `expectedRevision`, bumps the revision, audits each changed resource naming `actor`, and tells
 * every process.
 */
export interface TenantConfigDocuments {
  read(tenantId: string): Promise<{ readonly config: TenantDocument; readonly revision: number } | undefined>;
  write(
    tenantId: string,
    config: TenantDocument,
    options: {
      readonly expectedRevision: number | null;
      readonly actor: string;
      readonly summary?: string;
      /** A user of the tenant, not the operator: only the tenant's own `${env:NAME}` names may be added. */
      readonly byTenantUser?: boolean;
    },
  ): Promise<{ readonly revision: number }>;
}

export interface TenantResourceRoutesOptions {
  readonly documents: TenantConfigDocuments;
  /** Adding services from uploaded or fetched descriptions (`.../services/preview` and `/import`); absent: none. */
  readonly descriptions?: ServiceDescriptions;
  /** Whether `writeTenantConfig` failed because another write came first: the change is then applied again. */
  readonly isRevisionConflict: (error: unknown) => boolean;
}

type Document = Record<string, unknown>;
type Resource = Record<string, unknown>;

/** A list in the tenant document whose items are resources with a key (`services` by `id`). */
interface CollectionResource {
  /** The document's field: `services`. */
  readonly collection: 'services' | 'toolsets' | 'alertRules';
  /** The path segment: `services`, `alert-rules`. */
  readonly segment: string;
  /** The path parameter of one item: `service`. */
  readonly param: string;
  /** What one item is called in messages and summaries: `service`, `alert rule`. */
  readonly noun: string;
  readonly key: 'id';
  readonly schema: z.ZodType;
  readonly roles: readonly TenantRole[];
}

/** Some fields of the tenant (or of one toolset) edited together as one resource: `{ "rateLimit": ... }`. */
interface FieldGroupResource {
  readonly path: string;
  readonly name: string;
  /** Where the fields live: the tenant document itself, or the toolset named by `:toolset`. */
  readonly owner: 'tenant' | 'toolset';
  readonly fields: readonly string[];
  readonly schema: z.ZodType;
  readonly roles: readonly TenantRole[];
}

/**
 * The fields that hold a credential (in a service's `auth`, at the top of a catalogue service, in an alert rule's
 * `webhook`): written as `${env:NAME}` references only, never a value.
 */
const secretFields = ['value', 'token', 'password', 'clientSecret', 'apiKey', 'secret'] as const;
const secretReference = /^\$\{env:[A-Za-z_][A-Za-z0-9_]*\}$/;
const defaultPageSize = 100;
const maxPageSize = 500;

const { service, toolset, tenant, alertRule } = tenantResourceSchemas;

const collections: readonly CollectionResource[] = [
  {
    collection: 'services',
    segment: 'services',
    param: 'service',
    noun: 'service',
    key: 'id',
    schema: service,
    roles: adminRoleSets.configure,
  },
  {
    collection: 'toolsets',
    segment: 'toolsets',
    param: 'toolset',
    noun: 'toolset',
    key: 'id',
    schema: toolset,
    roles: adminRoleSets.configure,
  },
  {
    collection: 'alertRules',
    segment: 'alert-rules',
    param: 'rule',
    noun: 'alert rule',
    key: 'id',
    schema: alertRule,
    roles: adminRoleSets.configure,
  },
];

const fieldGroups: readonly FieldGroupResource[] = [
  {
    path: '/tenants/:tenant/limits',
    name: 'tenant limits',
    owner: 'tenant',
    fields: ['rateLimit'],
    schema: z.strictObject({ rateLimit: tenant.shape.rateLimit }),
    roles: adminRoleSets.configure,
  },
  {
    path: '/tenants/:tenant/toolsets/:toolset/limits',
    name: 'toolset limits',
    owner: 'toolset',
    fields: ['rateLimit', 'limits'],
    schema: z.strictObject({ rateLimit: toolset.shape.rateLimit, limits: toolset.shape.limits.optional() }),
    roles: adminRoleSets.configure,
  },
  {
    path: '/tenants/:tenant/toolsets/:toolset/approval',
    name: 'approval rule',
    owner: 'toolset',
    fields: ['approval'],
    schema: z.strictObject({ approval: toolset.shape.approval }),
    roles: adminRoleSets.configure,
  },
];

/**
 * Create, read, update and delete of the resources in a tenant's configuration document (issue 14): services,
 * toolsets, the tenant's own alert rules, each toolset's approval rule and limits, the tenant's limits. Every write
 * reads the document, changes one resource, validates the whole tenant with the config file's schema and writes it
 * back with the revision it read; a write that lost a race with another resource's edit is applied again on the
 * new revision.
 *
 * A resource's `ETag` is a hash of its own JSON, so edits of other resources do not invalidate it; `If-Match` with
 * another value answers 412 and changes nothing. An invalid resource answers 422 `resource_invalid` naming the
 * field (`details.field`, relative to the request body) and changes nothing. Credentials are `${env:NAME}`
 * references; a literal value is refused, and never shown if the config file put one there.
 */
export function createTenantResourceRoutes(options: TenantResourceRoutesOptions): AdminRoute[] {
  const { documents } = options;

  async function read(tenantId: string) {
    const found = await documents.read(tenantId);
    if (found === undefined) throw new GatehouseError('not_found', `No tenant ${tenantId}`);
    return { document: found.config as unknown as Document, revision: found.revision };
  }

  /**
   * Applies `change` to the current document and writes it, again on a newer revision when another write came
   * first (`change` re-reads the resource each time, so its `If-Match` check sees the latest version).
   */
  async function write(
    context: AdminContext,
    summary: string,
    change: (document: Document) => { readonly next: Document; readonly location: readonly (string | number)[] },
  ): Promise<Document> {
    const tenantId = context.params['tenant'] as string;
    for (let attempt = 1; ; attempt++) {
      const { document, revision } = await read(tenantId);
      const { next, location } = change(document);
      // The config file's schema first, so a bad field is named relative to the body; the store validates again.
      // An issue elsewhere in the document (a `${env:...}` reference the bare schema cannot judge) is left to it.
      const parsed = tenant.safeParse(next);
      const inside = parsed.success ? [] : parsed.error.issues.filter((issue) => isInside(issue, location));
      if (inside.length > 0 && !hasProviderServices(next)) throw invalidResource(inside, location);
      try {
        await documents.write(tenantId, next as TenantDocument, {
          expectedRevision: revision,
          actor: context.actor,
          summary,
          byTenantUser: context.caller.kind === 'user',
        });
        return next;
      } catch (error) {
        if (isGatehouseError(error) && error.code === 'config_invalid') throw invalidDocument(error, location);
        if (!options.isRevisionConflict(error)) throw error;
        if (attempt >= maxRewriteAttempts) {
          throw new GatehouseError(
            'precondition_failed',
            `The tenant's configuration changed ${attempt} times while this change was applied; send it again`,
          );
        }
        await pauseBeforeRewrite(attempt);
      }
    }
  }

  const routes: AdminRoute[] = [];
  let createService: ((context: AdminContext, body: Resource) => Promise<AdminAnswer>) | undefined;
  for (const resource of collections) {
    const base = `/tenants/:tenant/${resource.segment}`;
    const item = `${base}/:${resource.param}`;
    const noun = resource.noun;
    const itemsOf = (document: Document) => (document[resource.collection] ?? []) as readonly Resource[];
    const indexOf = (document: Document, id: string) => itemsOf(document).findIndex((r) => r[resource.key] === id);
    const found = (document: Document, id: string): { index: number; value: Resource } => {
      const index = indexOf(document, id);
      if (index === -1) throw new GatehouseError('not_found', `No ${noun} ${id}`);
      return { index, value: itemsOf(document)[index] as Resource };
    };
    const replaced = (document: Document, items: readonly Resource[]): Document => ({
      ...document,
      [resource.collection]: items,
    });

    /** Creates an item from `body` (also the route that adds a service from an uploaded description). */
    const create = async (context: AdminContext, body: Resource): Promise<AdminAnswer> => {
      refuseSecretValues(resource, body);
      const id = body[resource.key];
      const written = await write(context, `${noun} ${String(id)} created`, (document) => {
        if (typeof id === 'string' && indexOf(document, id) !== -1) {
          throw new GatehouseError('resource_conflict', `${resource.key}: ${noun} ${id} already exists`, {
            field: resource.key,
          });
        }
        const items = itemsOf(document);
        return { next: replaced(document, [...items, body]), location: [resource.collection, items.length] };
      });
      const value = found(written, id as string).value;
      return {
        status: 201,
        body: withoutSecretValues(value),
        headers: {
          etag: etagOf(value),
          location: `/api/v1/tenants/${context.params['tenant']}/${resource.segment}/${String(id)}`,
        },
      };
    };
    if (resource.collection === 'services') createService = create;

    routes.push(
      {
        method: 'GET',
        path: base,
        summary: `List the tenant's ${noun}s (by ${resource.key}; ?limit=&cursor= pages)`,
        roles: resource.roles,
        query: {
          limit: `Items per page, 1-${maxPageSize} (default ${defaultPageSize})`,
          cursor: 'The nextCursor of the previous page',
        },
        responseSchema: z.object({ items: z.array(resource.schema), nextCursor: z.string().nullable() }),
        handle: async ({ params, query }) => {
          const { document } = await read(params['tenant'] as string);
          const sorted = [...itemsOf(document)].sort((a, b) =>
            String(a[resource.key]).localeCompare(String(b[resource.key])),
          );
          const limit = parseLimit(query.get('limit'));
          const after = decodeCursor(query.get('cursor'));
          const rest = after === undefined ? sorted : sorted.filter((r) => String(r[resource.key]) > after);
          const page = rest.slice(0, limit);
          const last = page.at(-1);
          return {
            body: {
              items: page.map((r) => withoutSecretValues(r)),
              nextCursor: rest.length > limit && last !== undefined ? encodeCursor(String(last[resource.key])) : null,
            },
          };
        },
      },
      {
        method: 'POST',
        path: base,
        summary: `Create a ${noun} (the config file's schema); 409 when its ${resource.key} is taken`,
        roles: resource.roles,
        requestSchema: resource.schema,
        responseSchema: resource.schema,
        handle: async (context) => create(context, await context.readJson()),
      },
      {
        method: 'GET',
        path: item,
        summary: `Read one ${noun}, with its ETag`,
        roles: resource.roles,
        responseSchema: resource.schema,
        handle: async ({ params }) => {
          const { document } = await read(params['tenant'] as string);
          const { value } = found(document, params[resource.param] as string);
          return { body: withoutSecretValues(value), headers: { etag: etagOf(value) } };
        },
      },
      {
        method: 'PUT',
        path: item,
        summary: `Replace a ${noun} (send If-Match: its ETag; 412 when someone changed it since)`,
        roles: resource.roles,
        requestSchema: resource.schema,
        responseSchema: resource.schema,
        handle: async (context) => {
          const id = context.params[resource.param] as string;
          const body = await context.readJson();
          if (body[resource.key] !== undefined && body[resource.key] !== id) {
            throw new GatehouseError(
              'resource_invalid',
              `${resource.key}: must be ${id}, the ${noun} in the path (to rename, create the new one and delete this one)`,
              { field: resource.key },
            );
          }
          refuseSecretValues(resource, body);
          const written = await write(context, `${noun} ${id} updated`, (document) => {
            const { index, value } = found(document, id);
            checkIfMatch(context, value);
            const items = [...itemsOf(document)];
            items[index] = { ...body, [resource.key]: id };
            return { next: replaced(document, items), location: [resource.collection, index] };
          });
          const value = found(written, id).value;
          return { body: withoutSecretValues(value), headers: { etag: etagOf(value) } };
        },
      },
      {
        method: 'DELETE',
        path: item,
        summary: `Delete a ${noun} (If-Match optional; 412 when it changed since)`,
        roles: resource.roles,
        handle: async (context) => {
          const id = context.params[resource.param] as string;
          await write(context, `${noun} ${id} deleted`, (document) => {
            const { index, value } = found(document, id);
            checkIfMatch(context, value);
            return {
              next: replaced(
                document,
                itemsOf(document).filter((_, i) => i !== index),
              ),
              location: [resource.collection],
            };
          });
          return { body: { deleted: true } };
        },
      },
    );
  }

  for (const group of fieldGroups) {
    const ownerOf = (context: AdminContext, document: Document) => {
      if (group.owner === 'tenant') return { value: document, location: [] as (string | number)[] };
      const id = context.params['toolset'] as string;
      const toolsets = (document['toolsets'] ?? []) as readonly Resource[];
      const index = toolsets.findIndex((t) => t['id'] === id);
      if (index === -1) throw new GatehouseError('not_found', `No toolset ${id}`);
      return { value: toolsets[index] as Resource, location: ['toolsets', index] as (string | number)[] };
    };
    const pick = (owner: Resource): Resource =>
      Object.fromEntries(group.fields.filter((f) => owner[f] !== undefined).map((f) => [f, owner[f]]));
    routes.push(
      {
        method: 'GET',
        path: group.path,
        summary: `Read the ${group.name} (${group.fields.join(', ')}), with its ETag`,
        roles: group.roles,
        responseSchema: group.schema,
        handle: async (context) => {
          const { document } = await read(context.params['tenant'] as string);
          const value = pick(ownerOf(context, document).value);
          return { body: value, headers: { etag: etagOf(value) } };
        },
      },
      {
        method: 'PUT',
        path: group.path,
        summary: `Replace the ${group.name}: a field left out is removed (If-Match: its ETag; 412 when stale)`,
        roles: group.roles,
        requestSchema: group.schema,
        responseSchema: group.schema,
        handle: async (context) => {
          const body = await context.readJson();
          const unknown = Object.keys(body).find((key) => !group.fields.includes(key));
          if (unknown !== undefined) {
            throw new GatehouseError(
              'resource_invalid',
              `${unknown}: not a field of the ${group.name} (expected ${group.fields.join(', ')})`,
              { field: unknown },
            );
          }
          const written = await write(context, `${group.name} updated`, (document) => {
            const owner = ownerOf(context, document);
            checkIfMatch(context, pick(owner.value));
            const changed: Resource = { ...owner.value };
            for (const field of group.fields) {
              if (body[field] === undefined) delete changed[field];
              else changed[field] = body[field];
            }
            if (group.owner === 'tenant') return { next: changed, location: [] };
            const toolsets = [...((document['toolsets'] ?? []) as readonly Resource[])];
            toolsets[owner.location[1] as number] = changed;
            return { next: { ...document, toolsets }, location: owner.location };
          });
          const value = pick(ownerOf(context, written).value);
          return { body: value, headers: { etag: etagOf(value) } };
        },
      },
    );
  }
  if (options.descriptions !== undefined && createService !== undefined) {
    routes.push(...createServiceDescriptionRoutes({ descriptions: options.descriptions, createService }));
  }
  return routes;
}

/** A strong ETag over the resource's canonical JSON (keys sorted), as shown (credential values masked). */
export function etagOf(resource: unknown): string {
  const digest = createHash('sha256')
    .update(canonicalJson(withoutSecretValues(resource)))
    .digest('base64url');
  return `"${digest.slice(0, 27)}"`;
}

function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

/** `If-Match` (RFC 9110 §13.1.1): `*` or a list of ETags, one of which must be the resource's current one. */
function checkIfMatch(context: AdminContext, current: unknown): void {
  const header = context.req.headers['if-match'];
  if (header === undefined) return;
  const wanted = header.split(',').map((tag) => tag.trim());
  if (wanted.includes('*') || wanted.includes(etagOf(current))) return;
  throw new GatehouseError(
    'precondition_failed',
    'If-Match: the resource changed since that version was read; read it again',
  );
}

/** Whether a schema issue is about the resource at `location` (the tenant document itself: every issue). */
function isInside(issue: z.core.$ZodIssue, location: readonly (string | number)[]): boolean {
  return location.every((part, i) => issue.path[i] === part);
}

/** The first schema issue as a 422 naming its field: relative to the request body when it is inside the resource. */
export function invalidResource(
  issues: readonly z.core.$ZodIssue[],
  location: readonly (string | number)[],
): GatehouseError {
  const issue = issues[0] as z.core.$ZodIssue;
  const path = issue.code === 'unrecognized_keys' ? [...issue.path, issue.keys[0] as string] : [...issue.path];
  const inside = location.length > 0 && location.every((part, i) => path[i] === part);
  const field = formatPath(inside ? path.slice(location.length) : path) || '(body)';
  // zod's messages never include the offending value, so a secret in a wrong field is not echoed.
  return new GatehouseError('resource_invalid', `${field}: ${issue.message}`, { field });
}

/** Services from the provider catalogue are expanded by the store's parse, not by the bare schema. */
export function hasProviderServices(document: Document): boolean {
  return ((document['services'] ?? []) as readonly Resource[]).some((s) => s['provider'] !== undefined);
}

/**
 * The document's own validation failure (`details.path`) as a 422 naming the field relative to the body, in the
 * message too: without the parse's source (`tenant:`, or the config file `serve` read) and with the paths inside the
 * resource written without its place in the document (`auth.value`, not `services[1].auth.value`).
 */
export function invalidDocument(error: GatehouseError, location: readonly (string | number)[]): GatehouseError {
  const path = typeof error.details['path'] === 'string' ? error.details['path'] : '';
  const prefix = formatPath(location);
  const field =
    prefix !== '' && path.startsWith(`${prefix}.`) ? path.slice(prefix.length + 1) : path === '' ? '(body)' : path;
  const source = error.details['source'];
  let message =
    typeof source === 'string' && error.message.startsWith(`${source}: `)
      ? error.message.slice(source.length + 2)
      : error.message;
  if (prefix !== '') {
    // A path starts the message or one of its issue lines (`  toolsets[0].access: ...`).
    const inside = new RegExp(`(^|\\n\\s*)${prefix.replaceAll(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\.`, 'g');
    message = message.replaceAll(inside, '$1');
  }
  return new GatehouseError('resource_invalid', message, { field });
}

/**
 * Where a resource holds a credential: a service in `auth`, or at the top for a catalogue provider (`apiKey`,
 * `token`...); an alert rule in `webhook` (`secret`).
 */
function secretFieldsOf(resource: Resource): { readonly holder: Record<string, unknown>; readonly prefix: string }[] {
  const auth = resource['auth'];
  const webhook = resource['webhook'];
  return [
    ...(auth !== null && typeof auth === 'object'
      ? [{ holder: auth as Record<string, unknown>, prefix: 'auth.' }]
      : []),
    ...(webhook !== null && typeof webhook === 'object'
      ? [{ holder: webhook as Record<string, unknown>, prefix: 'webhook.' }]
      : []),
    ...(resource['provider'] === undefined ? [] : [{ holder: resource, prefix: '' }]),
  ];
}

/** Credentials are references to the environment: a value sent in their place is refused, naming the field. */
function refuseSecretValues(resource: CollectionResource, body: Resource): void {
  if (resource.collection === 'toolsets') return;
  for (const { holder, prefix } of secretFieldsOf(body)) {
    for (const field of secretFields) {
      const value = holder[field];
      if (typeof value === 'string' && !secretReference.test(value)) {
        throw new GatehouseError(
          'resource_invalid',
          `${prefix}${field}: expected a reference such as \${env:NAME}; the admin API never stores a credential's value`,
          { field: `${prefix}${field}` },
        );
      }
    }
  }
}

/** The resource as answers show it: a credential value (only a config file can hold one) is masked. */
function withoutSecretValues(resource: unknown): unknown {
  if (resource === null || typeof resource !== 'object') return resource;
  const masked: Resource = { ...(resource as Resource) };
  for (const { holder, prefix } of secretFieldsOf(resource as Resource)) {
    const copy: Record<string, unknown> = { ...holder };
    for (const field of secretFields) {
      const value = copy[field];
      if (typeof value === 'string' && !secretReference.test(value)) copy[field] = '[redacted]';
    }
    if (prefix === '') Object.assign(masked, copy);
    else masked[prefix.slice(0, -1)] = copy;
  }
  return masked;
}

function parseLimit(value: string | null): number {
  if (value === null) return defaultPageSize;
  const limit = Number(value);
  if (!Number.isInteger(limit) || limit < 1 || limit > maxPageSize) {
    throw new GatehouseError('invalid_request', `limit: expected a whole number from 1 to ${maxPageSize}`, {
      field: 'limit',
    });
  }
  return limit;
}

function encodeCursor(after: string): string {
  return Buffer.from(JSON.stringify({ after })).toString('base64url');
}

function decodeCursor(cursor: string | null): string | undefined {
  if (cursor === null) return undefined;
  try {
    const parsed = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as { after?: unknown };
    if (typeof parsed.after === 'string') return parsed.after;
  } catch {
    // answered below
  }
  throw new GatehouseError('invalid_request', 'cursor: not a nextCursor this API returned', { field: 'cursor' });
}
