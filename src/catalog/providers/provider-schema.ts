import { z } from 'zod';
import {
  fixedHeadersSchema,
  type OAuthQuirk,
  oauthQuirks,
  regularExpression,
  tokenHeaderSchema,
} from '../../core/index.ts';

/**
 * The provider file format (docs/providers.md): one YAML file per provider at `catalog/providers/<id>.yaml`,
 * checked by this schema in CI and at load. Strict everywhere: an unknown key is an error naming the file and the
 * field path, so a typo in provider data never silently drops a scope or a quirk.
 */

/** The fixed list of categories a provider may be filed under. */
export const providerCategories = [
  'communication',
  'crm',
  'dev-tools',
  'productivity',
  'storage',
  'payments',
  'marketing',
  'support',
  'analytics',
  'hr',
  'finance',
  'ecommerce',
  'design',
  'project-management',
  'calendar',
  'email',
  'ai',
  'social',
  'security',
  'cloud',
  'other',
] as const;
export type ProviderCategory = (typeof providerCategories)[number];

/** Provider behaviours handled by named code: the one list lives with the config's oauth2 auth (core). */
export const providerQuirks = oauthQuirks;
export type ProviderQuirk = OAuthQuirk;

/** What a quirk fills in: the variable it provides for each connection, so a config need not set it. */
export const quirkVariables: Readonly<Record<ProviderQuirk, string | undefined>> = {
  'slack-authed-user': undefined,
  'salesforce-instance-url': 'instanceUrl',
  'atlassian-cloud-id': 'cloudId',
  'no-token-type': undefined,
  'xero-tenant-id': 'tenantId',
};

export const providerIdPattern = /^[a-z][a-z0-9-]{1,39}$/;
const variableNamePattern = /^[a-zA-Z][a-zA-Z0-9_]{0,39}$/;
const templateVariable = /\{([^{}]*)\}/g;

/** The `{name}` placeholders of a URL template, in order. */
export function templateVariables(template: string): string[] {
  return [...template.matchAll(templateVariable)].map((m) => m[1] as string);
}

/** An https URL, which may hold `{variables}` (checked against `variables` by the provider schema). */
const urlTemplate = z.string().refine((value) => {
  const filled = value.replace(templateVariable, 'x');
  try {
    const url = new URL(filled.startsWith('x') ? `https://${filled.slice(1)}` : filled);
    return url.protocol === 'https:';
  } catch {
    return false;
  }
}, 'expected an https URL (it may hold {variables}, e.g. https://{subdomain}.zendesk.com/api/v2)');

const plainUrl = z.url({ protocol: /^https$/, error: 'expected an https URL' });

const scopeSchema = z.strictObject({
  name: z.string().min(1).max(200),
  description: z.string().min(1).max(300),
  /** `read`: lets the client only read; `write`: lets it change, send, create or delete something. */
  access: z.enum(['read', 'write']),
});

const refreshSchema = z.strictObject({
  /** Whether each refresh returns a new refresh token that replaces the old one (the old one then stops working). */
  rotates: z.boolean().default(false),
  /** Whether access tokens expire: `always`, `optional` (an app setting, e.g. GitHub apps) or `never`. */
  expiresIn: z.enum(['always', 'optional', 'never']).default('always'),
});

const oauth2Schema = z.strictObject({
  type: z.literal('oauth2'),
  authorizationUrl: urlTemplate,
  tokenUrl: urlTemplate,
  revocationUrl: urlTemplate.optional(),
  /** Whether the provider accepts PKCE (S256); the gateway sends it only where the provider supports it. */
  pkce: z.boolean(),
  tokenEndpointAuthMethod: z.enum(['client_secret_basic', 'client_secret_post']).default('client_secret_post'),
  /** How scopes are joined in the authorize request and split in the token response; default one space. */
  scopeSeparator: z.enum([' ', ',', '+']).default(' '),
  scopes: z.array(scopeSchema).min(1),
  /**
   * The scope that makes the provider issue a refresh token (`offline_access`, Salesforce `refresh_token`, Twitter
   * `offline.access`); kept on every connect link, whatever the tools need, so connections survive the first expiry.
   * Must be in `scopes`.
   */
  refreshScope: z.string().min(1).optional(),
  /** Scopes requested when the config names none; each must be in `scopes`. */
  defaultScopes: z.array(z.string().min(1)).default([]),
  /** A broad scope and the narrower ones it implies (`repo: [public_repo]`); names must be in `scopes`. */
  scopeImplies: z.record(z.string().min(1), z.array(z.string().min(1))).default({}),
  /** Extra authorize parameters, e.g. `{ access_type: offline, prompt: consent }`. */
  authorizeParams: z.record(z.string().min(1), z.string()).default({}),
  refresh: refreshSchema.prefault({}),
  quirks: z.array(z.enum(providerQuirks)).default([]),
  /** Where the access token goes, when not `Authorization: Bearer` (Shopify: `{ name: X-Shopify-Access-Token }`). */
  tokenHeader: tokenHeaderSchema.optional(),
  /**
   * What redirect URIs the provider lets an app register, where its documentation says: `https` (Slack: HTTPS
   * only, also for local development), `https-or-loopback` (Google, Microsoft: HTTPS, or http on localhost or a
   * loopback address). Absent: not known to the catalogue. `providers show` prints it; `check` warns when the
   * config's `publicUrl` breaks it.
   */
  redirectUriRule: z.enum(['https', 'https-or-loopback']).optional(),
  /**
   * Scopes that widen what the pack's read tools reach, which a connect link on the catalogue's scopes never asks
   * (the first of each tool's equal alternatives is asked): Slack `groups:read`, `groups:history` for "private
   * channels the user is in". `check` names them, to be listed in the service's `scopes`. Each must be in `scopes`.
   */
  optionalReach: z
    .array(z.strictObject({ scopes: z.array(z.string().min(1)).min(1), reach: z.string().min(1).max(100) }))
    .default([]),
});

const apiKeySchema = z.strictObject({
  type: z.literal('apiKey'),
  in: z.enum(['header', 'query']),
  /** Header or query parameter name. */
  name: z.string().min(1).max(100),
  /** Put before the key in the header value, e.g. `"Bearer "` or `"Token token="`. */
  prefix: z.string().max(40).optional(),
  /** What the person enters, as the provider calls it (`API key`, `Personal access token`). */
  label: z.string().min(1).max(100).default('API key'),
});

const basicSchema = z.strictObject({
  type: z.literal('basic'),
  /** Labels of what to enter, as the provider calls them (`Account SID` / `Auth token`). */
  username: z.string().min(1).max(100),
  password: z.string().min(1).max(100),
});

const bearerSchema = z.strictObject({
  type: z.literal('bearer'),
  /** What the person enters (`Personal access token`, `Integration token`). */
  label: z.string().min(1).max(100).default('Token'),
});

const variableSchema = z.strictObject({
  name: z.string().regex(variableNamePattern, 'expected a name of letters, digits and _ starting with a letter'),
  description: z.string().min(1).max(300),
  /** Anchored regular expression the value must match (a guard against a value that changes the URL's host). */
  pattern: regularExpression
    .refine(
      (p) => p.startsWith('^') && p.endsWith('$') && !p.endsWith('\\$'),
      'expected an anchored pattern (^...$): an unanchored one lets a value carry more than it should',
    )
    .optional(),
  default: z.string().optional(),
  example: z.string().optional(),
});

const descriptionSchema = z
  .strictObject({
    /** A curated tool pack: `catalog/packs/<pack>.openapi.yaml`. */
    pack: z
      .string()
      .regex(providerIdPattern, 'expected a pack id (the file catalog/packs/<id>.openapi.yaml)')
      .optional(),
    /** A public description (OpenAPI or Swagger) to download and name with `openapi:` in the config. */
    url: plainUrl.optional(),
    /** Licence of what is shipped: an SPDX id, or `own-words` for a description written from public documentation. */
    licence: z.string().min(1).max(100).optional(),
  })
  .refine((d) => d.pack !== undefined || d.url !== undefined, 'expected pack, url or both');

export const providerSchema = z
  .strictObject({
    id: z
      .string()
      .regex(providerIdPattern, 'expected lower-case letters, digits and dashes (2-40), starting with a letter'),
    name: z.string().min(1).max(80),
    categories: z.array(z.enum(providerCategories)).min(1),
    docs: plainUrl,
    auth: z.discriminatedUnion('type', [oauth2Schema, apiKeySchema, basicSchema, bearerSchema]),
    /**
     * A second way in beside an OAuth `auth`, for operations a user token cannot do (Discord's bot token, sent as
     * `Authorization: Bot <token>`): a service chooses it by giving that credential (`apiKey:`) instead of `clientId`.
     */
    otherAuth: z.discriminatedUnion('type', [apiKeySchema, bearerSchema]).optional(),
    baseUrl: urlTemplate,
    /** Headers every call needs (`Notion-Version: 2022-06-28`); a service may override the value, a tool never. */
    headers: fixedHeadersSchema.default({}),
    variables: z.array(variableSchema).default([]),
    description: descriptionSchema.optional(),
    notes: z.string().max(500).optional(),
  })
  .superRefine((p, ctx) => {
    if (p.otherAuth !== undefined && p.auth.type !== 'oauth2') {
      ctx.addIssue({ code: 'custom', path: ['otherAuth'], message: 'only beside an oauth2 auth' });
    }
    const declared = new Set(p.variables.map((v) => v.name));
    const provided = new Set(
      (p.auth.type === 'oauth2' ? p.auth.quirks : []).map((q) => quirkVariables[q]).filter((v) => v !== undefined),
    );
    const seen = new Set<string>();
    p.variables.forEach((v, i) => {
      if (seen.has(v.name))
        ctx.addIssue({ code: 'custom', path: ['variables', i, 'name'], message: `duplicate variable '${v.name}'` });
      seen.add(v.name);
      if (provided.has(v.name))
        ctx.addIssue({
          code: 'custom',
          path: ['variables', i, 'name'],
          message: `'${v.name}' is filled by a quirk for each connection; do not declare it`,
        });
    });
    const checkTemplate = (value: string | undefined, path: (string | number)[]) => {
      if (value === undefined) return;
      for (const name of templateVariables(value)) {
        if (!declared.has(name) && !provided.has(name)) {
          ctx.addIssue({
            code: 'custom',
            path,
            message: `uses {${name}}, which is neither in variables nor filled by a quirk`,
          });
        }
      }
    };
    checkTemplate(p.baseUrl, ['baseUrl']);
    if (p.auth.type !== 'oauth2') return;
    checkTemplate(p.auth.authorizationUrl, ['auth', 'authorizationUrl']);
    checkTemplate(p.auth.tokenUrl, ['auth', 'tokenUrl']);
    checkTemplate(p.auth.revocationUrl, ['auth', 'revocationUrl']);
    const scopes = new Set<string>();
    p.auth.scopes.forEach((s, i) => {
      if (scopes.has(s.name))
        ctx.addIssue({ code: 'custom', path: ['auth', 'scopes', i, 'name'], message: `duplicate scope '${s.name}'` });
      scopes.add(s.name);
    });
    p.auth.defaultScopes.forEach((s, i) => {
      if (!scopes.has(s))
        ctx.addIssue({ code: 'custom', path: ['auth', 'defaultScopes', i], message: `'${s}' is not in auth.scopes` });
    });
    if (p.auth.refreshScope !== undefined && !scopes.has(p.auth.refreshScope)) {
      ctx.addIssue({
        code: 'custom',
        path: ['auth', 'refreshScope'],
        message: `'${p.auth.refreshScope}' is not in auth.scopes`,
      });
    }
    for (const [broad, narrower] of Object.entries(p.auth.scopeImplies)) {
      for (const [i, s] of [broad, ...narrower].entries()) {
        if (!scopes.has(s)) {
          ctx.addIssue({
            code: 'custom',
            path: i === 0 ? ['auth', 'scopeImplies'] : ['auth', 'scopeImplies', broad, i - 1],
            message: `'${s}' is not in auth.scopes`,
          });
        }
      }
    }
    p.auth.optionalReach.forEach((entry, i) => {
      entry.scopes.forEach((s, j) => {
        if (!scopes.has(s))
          ctx.addIssue({
            code: 'custom',
            path: ['auth', 'optionalReach', i, 'scopes', j],
            message: `'${s}' is not in auth.scopes`,
          });
      });
    });
    const seenQuirks = new Set<string>();
    p.auth.quirks.forEach((q, i) => {
      if (seenQuirks.has(q))
        ctx.addIssue({ code: 'custom', path: ['auth', 'quirks', i], message: `duplicate quirk '${q}'` });
      seenQuirks.add(q);
    });
  });

export type Provider = z.output<typeof providerSchema>;
export type ProviderAuth = Provider['auth'];
export type ProviderOAuth = Extract<ProviderAuth, { type: 'oauth2' }>;
export type ProviderVariable = Provider['variables'][number];
export type ProviderScope = ProviderOAuth['scopes'][number];
