import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { dirname, isAbsolute, resolve } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { connectionVariableRules, isConnectionVariable, placeholdersOf } from './connection-variables.ts';
import { GatehouseError } from './errors.ts';
import { parseAddressRange } from './parse-address-range.ts';
import { knownFieldsAt, suggestFieldName } from './suggest-field-name.ts';

/**
 * The configuration schema (DESIGN.md §10). Parsed once into a deeply frozen object; this is the only module
 * that reads `process.env`. Unknown keys are errors so that a typo never silently weakens a policy.
 */

/**
 * Every duration in the config is a number of seconds in a key ending in `Seconds` (fractions where less than a
 * second makes sense), as Kubernetes does (`terminationGracePeriodSeconds`): one unit to remember.
 */
const seconds = z.number().finite();
const day = 86_400;

const id = z
  .string()
  .regex(
    /^[a-z0-9][a-z0-9-]{0,39}$/,
    'expected lower-case letters, digits and dashes (at most 40), starting with a letter or digit',
  );

/**
 * Every secret field. Shorter than 8 characters is refused (review finding 8a): the scrubbers cannot remove such a
 * value from results and logs without mangling ordinary text, so it could reach the model or a log raw.
 */
const secretString = z
  .string()
  .min(8, 'expected a secret of at least 8 characters (shorter ones cannot be redacted from results and logs)')
  // `${NAME}` or `$NAME` is a shell habit, not a secret: sent as is, it would reach the upstream as the credential.
  .refine(
    (value) => !/^\$\{?[A-Za-z_][A-Za-z0-9_]*\}?$/.test(value),
    'looks like a shell variable; Gatehouse substitutes ${env:NAME}',
  );

/**
 * Provider behaviours that data alone cannot say, each a small named handler in `oauth/` (docs/providers.md):
 * `slack-authed-user` (the user token nested under `authed_user`), `salesforce-instance-url` (`instance_url` in the
 * token response), `atlassian-cloud-id` (the cloud id discovered after connecting), `xero-tenant-id` (the
 * organisation discovered after connecting, sent in the `xero-tenant-id` header).
 */
export const oauthQuirks = [
  'slack-authed-user',
  'salesforce-instance-url',
  'atlassian-cloud-id',
  'no-token-type',
  'xero-tenant-id',
] as const;
export type OAuthQuirk = (typeof oauthQuirks)[number];

/**
 * Parameters a provider's `authorizeParams` may not set, in lower case (compared case-insensitively: servers differ
 * in how they read a name's case): they carry the protocol's security. Refused at config load and again at connect.
 */
export const reservedAuthorizeParams: ReadonlySet<string> = new Set([
  'response_type',
  'client_id',
  'redirect_uri',
  'state',
  'code_challenge',
  'code_challenge_method',
  'scope',
  'user_scope',
  'resource',
  'request',
  'request_uri',
  'response_mode',
]);

/** An HTTP header name (RFC 9110 token). */
const headerName = z.string().regex(/^[!#$%&'*+.^_`|~0-9A-Za-z-]{1,100}$/, 'expected an HTTP header name');

/**
 * Headers a service's fixed `headers` may not set, in lower case: the credential's slot, and the ones the HTTP
 * client owns (framing, host, connection) or the request builder sets from the body.
 */
export const reservedFixedHeaders: ReadonlySet<string> = new Set([
  'authorization',
  'proxy-authorization',
  'cookie',
  'host',
  'content-length',
  'content-type',
  'transfer-encoding',
  'connection',
  'keep-alive',
  'proxy-connection',
  'te',
  'trailer',
  'upgrade',
  'expect',
]);

/** A header value without control characters (a CR/LF would split the request). */
const headerValue = z.string().regex(/^[\t\x20-\x7e\x80-\xff]*$/, 'expected printable characters only (no CR, LF)');

/** Fixed request headers (`Notion-Version: 2022-06-28`): sent with every call, never set by a tool argument. */
export const fixedHeadersSchema = z.record(headerName, headerValue.max(1_000)).superRefine((headers, ctx) => {
  const seen = new Set<string>();
  for (const name of Object.keys(headers)) {
    const lower = name.toLowerCase();
    if (reservedFixedHeaders.has(lower)) {
      ctx.addIssue({
        code: 'custom',
        path: [name],
        message: `may not set '${name}' (the credential or the HTTP client sets it)`,
      });
    }
    if (seen.has(lower))
      ctx.addIssue({ code: 'custom', path: [name], message: `'${name}' is given twice (header names ignore case)` });
    seen.add(lower);
  }
});

/**
 * Where an OAuth access token goes when not `Authorization: Bearer <token>`: the header `name` and the `prefix`
 * before the token (`{ name: X-Shopify-Access-Token, prefix: "" }`, `{ name: Authorization, prefix: "Zoho-oauthtoken " }`).
 */
export const tokenHeaderSchema = z.strictObject({
  name: headerName.refine(
    (name) => !reservedFixedHeaders.has(name.toLowerCase()) || name.toLowerCase() === 'authorization',
    'expected a header the credential may use (not Cookie, Host or a framing header)',
  ),
  prefix: headerValue.max(40).default(''),
});

const authSchema = z.discriminatedUnion('type', [
  z.strictObject({ type: z.literal('none') }),
  z.strictObject({
    type: z.literal('apiKey'),
    in: z.enum(['header', 'query']),
    name: z.string().min(1),
    value: secretString,
    /** Sent before the key (`"Token token="`); the key alone is the secret that is redacted. */
    prefix: z.string().max(40).optional(),
  }),
  z.strictObject({ type: z.literal('bearer'), token: secretString }),
  z.strictObject({ type: z.literal('basic'), username: z.string().min(1), password: secretString }),
  z.strictObject({
    type: z.literal('oauth2'),
    issuer: z.url().optional(),
    authorizationUrl: z.url().optional(),
    tokenUrl: z.url().optional(),
    revocationUrl: z.url().optional(),
    /**
     * The gateway's OAuth app at the provider. Absent only on an `mcp:` service without `issuer` or `tokenUrl`:
     * the gateway then identifies itself by its client metadata document or registers itself (RFC 7591) at the
     * server's authorization server.
     */
    clientId: z.string().min(1).optional(),
    /**
     * Such a service without `clientId`: whether the gateway may use its client metadata document where the
     * authorization server supports them; absent = true. `false` registers instead (a server that cannot reach the
     * public URL).
     */
    clientMetadataDocument: z.boolean().optional(),
    clientSecret: secretString.optional(),
    scopes: z.array(z.string().min(1)).default([]),
    /**
     * The scope that makes the provider issue a refresh token, kept on every connect link when `scopes` holds it;
     * absent = `offline_access` (OpenID Connect). Set from the provider catalogue (Salesforce: `refresh_token`).
     */
    refreshScope: z.string().min(1).optional(),
    grant: z.enum(['authorization_code', 'client_credentials']).default('authorization_code'),
    authorizeParams: z
      .record(z.string(), z.string())
      .default({})
      .superRefine((params, ctx) => {
        for (const name of Object.keys(params)) {
          if (reservedAuthorizeParams.has(name.toLowerCase())) {
            ctx.addIssue({ code: 'custom', path: [name], message: `may not set the protocol parameter '${name}'` });
          }
        }
      }),
    resource: z.url().optional(),
    /** How the client authenticates at the token endpoint; absent = as the server's metadata suggests (basic first). */
    tokenEndpointAuthMethod: z.enum(['client_secret_basic', 'client_secret_post']).optional(),
    /*
     * The next three are optional in the output type too (absent = the default), so that hand-built auth objects
     * stay valid.
     */
    /** Joins scopes in the authorize request and splits the granted `scope` of a token response; absent = a space. */
    scopeSeparator: z.enum([' ', ',', '+']).optional(),
    /** Whether to send PKCE (S256); absent = true. `false` only for providers that refuse it (docs/providers.md). */
    pkce: z.boolean().optional(),
    /** Provider behaviours handled by named code (docs/providers.md, "quirks"); absent = none. */
    quirks: z.array(z.enum(oauthQuirks)).optional(),
    /** Where the access token goes in an API call; absent = `Authorization: Bearer <token>`. */
    tokenHeader: tokenHeaderSchema.optional(),
    /**
     * Quirk `atlassian-cloud-id`: where the site list is read after connecting; absent = Atlassian's
     * (https://api.atlassian.com/oauth/token/accessible-resources). Tests point it at a fake.
     */
    accessibleResourcesUrl: z.url().optional(),
    /**
     * Quirk `xero-tenant-id`: where the connected organisations are read after connecting; absent = Xero's
     * (https://api.xero.com/connections). Tests point it at a fake.
     */
    connectionsUrl: z.url().optional(),
    /**
     * Refresh the access token this long before it expires; absent = 60. Optional in the output type so that
     * hand-built auth objects stay valid; the refresh engine takes the smallest of a config.
     */
    refreshMarginSeconds: z.number().int().min(0).max(86_400).optional(),
  }),
]);

/** A rate limit: `perMinute` calls on average, at most `burst` at once (default: `perMinute`). */
const rateLimitSchema = z.strictObject({
  perMinute: z.number().int().positive().max(1_000_000),
  burst: z.number().int().positive().max(1_000_000).optional(),
});

/** A toolset or tool rate limit, counted per toolset (default), per client key or per subject. */
const scopedRateLimitSchema = z.strictObject({
  perMinute: z.number().int().positive().max(1_000_000),
  burst: z.number().int().positive().max(1_000_000).optional(),
  per: z.enum(['toolset', 'clientKey', 'subject']).default('toolset'),
});

/** A string that compiles as a JavaScript regular expression with the `u` flag (JSON Schema `pattern`). */
export const regularExpression = z.string().refine((p) => {
  try {
    new RegExp(p, 'u');
    return true;
  } catch {
    return false;
  }
}, 'expected a valid regular expression');

/** The JSON Schema keywords a toolset may add to one argument (a stricter schema, never a looser one). */
const argumentConstraintSchema = z
  .strictObject({
    const: z.union([z.string(), z.number(), z.boolean(), z.null()]).optional(),
    enum: z
      .array(z.union([z.string(), z.number(), z.boolean(), z.null()]))
      .min(1)
      .optional(),
    maximum: z.number().optional(),
    minimum: z.number().optional(),
    pattern: regularExpression.optional(),
    maxItems: z.number().int().nonnegative().optional(),
    maxLength: z.number().int().nonnegative().optional(),
  })
  .refine(
    (c) => Object.keys(c).length > 0,
    'expected at least one of const, enum, maximum, minimum, pattern, maxItems, maxLength',
  );

/**
 * A tool overlay (docs/configuration.md, "Tool overlays"): how one operation of a service's description is shown
 * to the model and called. Argument names are the tool's input schema properties, or `body.<property>`.
 */
const overlaySchema = z.strictObject({
  /** The tool's new short name: the tool becomes `{service}_{name}`. */
  name: z
    .string()
    .regex(/^[a-zA-Z0-9_-]{1,64}$/, 'expected letters, digits, _ and - (at most 64)')
    .optional(),
  description: z.string().min(1).max(4_000).optional(),
  /** Optional arguments removed from the input schema (never sent unless defaulted). */
  hide: z.array(z.string().min(1)).default([]),
  /** Arguments removed from the input schema and always sent with this value. */
  fixed: z.record(z.string().min(1), z.unknown()).default({}),
  /** Arguments sent with this value when the call leaves them out (shown as the schema's `default`). */
  defaults: z.record(z.string().min(1), z.unknown()).default({}),
  safety: z.enum(['safe', 'write', 'destructive']).optional(),
  /** JSON Schema keywords added to an argument's schema (stricter only). */
  constraints: z.record(z.string().min(1), argumentConstraintSchema).default({}),
  /**
   * A JMESPath expression applied to every JSON result before budgets and handles; it runs in the query workers
   * under `resultHandles.query` (the data is the upstream's, not trusted). Over budget: the result unprojected.
   */
  projection: z.string().min(1).max(2_000).optional(),
});

/** Whether an oauth2 auth names its authorization server (else an `mcp:` service discovers it from its server). */
export function configuresServer(auth: {
  readonly issuer?: string | undefined;
  readonly tokenUrl?: string | undefined;
  readonly authorizationUrl?: string | undefined;
}): boolean {
  return auth.issuer !== undefined || auth.tokenUrl !== undefined || auth.authorizationUrl !== undefined;
}

const serviceSchema = z
  .strictObject({
    id,
    /** The catalogue provider this service was expanded from (docs/providers.md); set by the expansion. */
    provider: z.string().min(1).optional(),
    /**
     * Set by the expansion of a catalogue provider whose OAuth scopes the operator did not list (neither `scopes`
     * nor `auth.scopes`): they are the provider's defaults plus every scope of its tool pack, a ceiling no person
     * chose. A link a tool call mints then asks for the first of a tool's equal scope alternatives only; for listed
     * scopes it asks for every one among them (Slack `channels:history` and `groups:history`; docs/providers.md).
     */
    scopesFromCatalogue: z.literal(true).optional(),
    /**
     * The service's name as people read it on pages (the page after consent): default the provider's name for a
     * catalogue service, else the description's title, else the id.
     */
    title: z.string().trim().min(1).max(80).optional(),
    openapi: z.string().min(1).optional(),
    swagger: z.string().min(1).optional(),
    /** A Google Discovery REST description (JSON). */
    googleDiscovery: z.string().min(1).optional(),
    /** A GraphQL schema: SDL (`.graphql`) or introspection JSON; `baseUrl` is the endpoint. */
    graphql: z.string().min(1).optional(),
    /** A WSDL 1.1 description (document/literal SOAP 1.1 or 1.2 binding). */
    wsdl: z.string().min(1).optional(),
    /**
     * A remote MCP server (Streamable HTTP, either protocol era) whose tools are federated: listed from the server
     * and called through it. `auth` supplies its static headers (docs/configuration.md, "Remote MCP servers").
     */
    mcp: z
      .url()
      .refine((url) => /^https?:\/\//i.test(url), 'expected an http or https URL')
      .optional(),
    /** MCP services only: how long a tool listing is used before it is listed again (a change notice lists at once). */
    toolsTtlSeconds: z.number().int().min(10).max(86_400).optional(),
    /**
     * GraphQL only: how deep the generated selection set goes. 1 = the scalar fields of the result, 2 (default) =
     * and the scalar fields of each object it links to (connections as `nodes`, `pageInfo` and `totalCount`).
     */
    selectionDepth: z.number().int().min(1).max(4).optional(),
    /**
     * Overrides the description's server URL. May hold per-connection variables (`{instanceUrl}/services/...`,
     * `.../ex/jira/{cloudId}/...`) that a provider quirk fills for each connection (docs/providers.md).
     */
    baseUrl: z
      .string()
      .refine((value) => {
        // Each placeholder stands for its example value here; the service check below names unknown ones.
        const filled = value.replace(/\{([^{}]*)\}/g, (whole, name: string) =>
          isConnectionVariable(name) ? connectionVariableRules[name].example : whole,
        );
        return z.url().safeParse(filled.replace(/\{[^{}]*\}/g, 'x')).success;
      }, 'Invalid URL')
      .optional(),
    auth: authSchema.default({ type: 'none' }),
    timeoutSeconds: seconds.positive().max(300).default(30),
    connectTimeoutSeconds: seconds.positive().max(60).default(5),
    /**
     * Headers sent with every call of the service (`Notion-Version`, `anthropic-version`, `X-GitHub-Api-Version`);
     * a tool argument of the same name is replaced, so the model can never change them.
     */
    headers: fixedHeadersSchema.default({}),
    maxResponseBytes: z
      .number()
      .int()
      .positive()
      .default(10 * 1024 * 1024),
    /** Tool overlays: operation (its operationId, or the tool's key) -> overlay. */
    overlays: z.record(z.string().min(1), overlaySchema).default({}),
    /**
     * Tools declare an `outputSchema` (compact, from the description's 2xx response schema) and results carry
     * `structuredContent` that validates against it (docs/configuration.md, "Structured output"). Absent = on
     * (a toolset whose list would be over its bound with them drops the largest first); `false` = off.
     */
    structuredOutput: z.boolean().optional(),
    /** Scope hierarchy of the provider: a broad scope and the narrower ones it implies (`repo: [public_repo]`). */
    scopeImplies: z.record(z.string().min(1), z.array(z.string().min(1))).default({}),
    /**
     * One account for everyone: calls use the connection of subject `shared`, whoever the caller is (a signed-in
     * user or a client key). Default false: each user (or key subject) connects their own account.
     */
    shared: z.boolean().default(false),
    /** Upstream 429 handling: safe calls wait up to `maxWaitSeconds` for `Retry-After`, at most `maxRetries` times. */
    retry: z
      .strictObject({
        maxRetries: z.number().int().min(0).max(5).default(2),
        maxWaitSeconds: z.number().min(0).max(300).default(10),
      })
      .default({ maxRetries: 2, maxWaitSeconds: 10 }),
  })
  .refine((s) => [s.openapi, s.swagger, s.googleDiscovery, s.graphql, s.wsdl, s.mcp].filter(Boolean).length === 1, {
    message: 'expected exactly one description source: openapi, swagger, googleDiscovery, graphql, wsdl or mcp',
  })
  .refine(
    (s) =>
      s.auth.type !== 'oauth2' || s.auth.clientId !== undefined || (s.mcp !== undefined && !configuresServer(s.auth)),
    {
      message:
        'clientId is required (only an mcp service without issuer, tokenUrl and authorizationUrl registers a client itself)',
      path: ['auth', 'clientId'],
    },
  )
  .refine((s) => s.scopesFromCatalogue === undefined || s.provider !== undefined, {
    message: 'set by the provider catalogue for a provider service, not in a config (list the scopes in auth.scopes)',
    path: ['scopesFromCatalogue'],
  })
  .refine(
    (s) =>
      s.auth.type !== 'oauth2' ||
      s.auth.clientMetadataDocument === undefined ||
      (s.mcp !== undefined && !configuresServer(s.auth) && s.auth.clientId === undefined),
    {
      message:
        'clientMetadataDocument applies only to an mcp service without clientId, issuer, tokenUrl and authorizationUrl',
      path: ['auth', 'clientMetadataDocument'],
    },
  )
  // An mcp service is listed and called at its `mcp` URL: a `baseUrl` beside it would send calls elsewhere.
  .refine((s) => s.mcp === undefined || s.baseUrl === undefined, {
    message: 'an mcp service is called at its mcp URL; remove baseUrl (or use a separate service)',
    path: ['baseUrl'],
  })
  .refine((s) => s.toolsTtlSeconds === undefined || s.mcp !== undefined, {
    message: 'toolsTtlSeconds applies to mcp services only',
    path: ['toolsTtlSeconds'],
  })
  .refine((s) => s.selectionDepth === undefined || s.graphql !== undefined, {
    message: 'selectionDepth applies to graphql services only',
    path: ['selectionDepth'],
  })
  .superRefine((s, ctx) => {
    const quirks: readonly string[] = s.auth.type === 'oauth2' ? (s.auth.quirks ?? []) : [];
    for (const name of placeholdersOf(s.baseUrl ?? '')) {
      if (!isConnectionVariable(name)) {
        ctx.addIssue({
          code: 'custom',
          path: ['baseUrl'],
          message: `uses {${name}}, which is not a per-connection variable (${Object.keys(connectionVariableRules).join(', ')})`,
        });
      } else if (!quirks.includes(connectionVariableRules[name].quirk)) {
        ctx.addIssue({
          code: 'custom',
          path: ['baseUrl'],
          message: `uses {${name}}, which only an oauth2 auth with quirk ${connectionVariableRules[name].quirk} fills`,
        });
      }
    }
    // A fixed header in the credential's own header would be replaced by the credential on every call.
    const credentialHeader =
      s.auth.type === 'apiKey' && s.auth.in === 'header'
        ? s.auth.name
        : s.auth.type === 'oauth2'
          ? s.auth.tokenHeader?.name
          : undefined;
    for (const [name, value] of Object.entries(s.headers)) {
      if (name.toLowerCase() === credentialHeader?.toLowerCase()) {
        ctx.addIssue({ code: 'custom', path: ['headers', name], message: `'${name}' carries the credential (auth)` });
      }
      for (const variable of placeholdersOf(value).filter(isConnectionVariable)) {
        if (!quirks.includes(connectionVariableRules[variable].quirk)) {
          ctx.addIssue({
            code: 'custom',
            path: ['headers', name],
            message: `uses {${variable}}, which only an oauth2 auth with quirk ${connectionVariableRules[variable].quirk} fills`,
          });
        }
      }
      for (const [, setting] of value.matchAll(serviceReference)) {
        if (setting !== 'clientId') {
          ctx.addIssue({
            code: 'custom',
            path: ['headers', name],
            message: `\${service.${setting}}: a header may reference only \${service.clientId} (never a secret)`,
          });
        } else if (s.auth.type !== 'oauth2') {
          ctx.addIssue({
            code: 'custom',
            path: ['headers', name],
            message: `\${service.clientId} needs an oauth2 auth with a clientId (this service's auth is ${s.auth.type})`,
          });
        }
      }
    }
  });

/**
 * `${service.NAME}` in a fixed header's value: a setting of the service itself. Only `clientId` may be named (Twitch
 * wants `Client-Id: <the app's client id>` on every call): it is public, unlike every other auth setting a header
 * could otherwise leak to the upstream or a log.
 */
const serviceReference = /\$\{service\.([A-Za-z0-9_]*)\}/g;

/** A service's fixed headers with `${service.clientId}` filled (the config checked that nothing else is named). */
export function fillServiceReferences(
  headers: Readonly<Record<string, string>>,
  auth: TenantConfig['services'][number]['auth'],
): Readonly<Record<string, string>> {
  const clientId = auth.type === 'oauth2' ? auth.clientId : undefined;
  if (clientId === undefined || !Object.values(headers).some((value) => value.includes('${service.'))) return headers;
  return Object.fromEntries(
    Object.entries(headers).map(([name, value]) => [name, value.replaceAll('${service.clientId}', clientId)]),
  );
}

/**
 * A map keyed by tool globs (`github_*`): the most specific matching glob wins, whatever the order of the keys
 * (an exact name over any glob; then more literal characters; then fewer wildcards). See `policy/pick-by-glob.ts`.
 */
const globMap = <T extends z.ZodType>(value: T) => z.record(z.string().min(1), value);

const toolsetSchema = z.strictObject({
  id,
  description: z.string().optional(),
  /**
   * How MCP clients may authenticate at this toolset: `keys` (a client key as `Authorization: Bearer`), `oauth`
   * (an access token from Gatehouse's authorization server, issued to a signed-in user), or both (default).
   */
  inbound: z
    .array(z.enum(['keys', 'oauth']))
    .min(1)
    .default(['keys', 'oauth'])
    .refine((methods) => new Set(methods).size === methods.length, 'expected each method once'),
  tools: z.array(z.string().min(1)).min(1).default(['*']),
  exclude: z.array(z.string().min(1)).default([]),
  /**
   * Services whose tools this toolset exposes under their own names, without the `{service}_` prefix (for a
   * federated MCP server, its tools' names as the server lists them). Globs match the names the toolset exposes.
   * Two tools that would then share a name are a config error naming both.
   */
  unprefixed: z.array(id).default([]),
  access: z.enum(['read', 'write']).default('read'),
  approval: z.union([z.enum(['none', 'destructive']), z.array(z.string().min(1))]).default('destructive'),
  rateLimit: scopedRateLimitSchema.optional(),
  /** What a tool may do: the scopes it may use, stricter argument schemas, corrected safety classes. */
  policy: z
    .strictObject({
      /** OAuth scopes this toolset may use; a tool needing any other is denied. Absent = no restriction. */
      scopes: z.array(z.string().min(1)).optional(),
      /** Per-tool argument constraints: tool glob -> argument path (`body.amount`) -> JSON Schema keywords. */
      constraints: globMap(z.record(z.string().min(1), argumentConstraintSchema)).default({}),
      /** Safety class overrides for descriptions that are wrong: tool glob -> class. */
      safety: globMap(z.enum(['safe', 'write', 'destructive'])).default({}),
    })
    .prefault({}),
  /** How much: per-tool rate limits and calls in flight (the toolset's own rate limit is `rateLimit`). */
  limits: z
    .strictObject({
      /** Per-tool rate limits: tool glob -> limit, counted per tool. */
      toolRateLimits: globMap(scopedRateLimitSchema).default({}),
      /** Calls in flight at once: per client key (`perKey`) and per tool (`perTool`), within this toolset. */
      concurrency: z
        .strictObject({
          perKey: z.number().int().positive().optional(),
          perTool: z.number().int().positive().optional(),
        })
        .optional(),
    })
    .prefault({}),
  /** What a result may cost the model's context, and what happens to the rest. */
  results: z
    .strictObject({
      /** Token budget (o200k) of one tool result; a larger one becomes a handle plus a summary. */
      budget: z.number().int().min(500).max(1_000_000).default(8_000),
      /** Per-tool result budgets: tool glob -> tokens. */
      toolBudgets: globMap(z.number().int().min(500).max(1_000_000)).default({}),
      /** Result handles: over-budget results are stored for `ttlSeconds`; `enabled: false` delivers them whole. */
      handles: z
        .strictObject({
          enabled: z.boolean().default(true),
          ttlSeconds: z.number().int().min(10).max(86_400).default(900),
        })
        .prefault({}),
      /**
       * List the tools' output schemas and validate results against them (where the service keeps structured
       * output on); `false` lists no output schema, for clients or models that pay for them in context.
       */
      structuredOutput: z.boolean().default(true),
      /** Follow upstream pagination within one call, up to `maxPages` pages and the result budget. */
      autoPaginate: z.strictObject({ maxPages: z.number().int().min(2).max(20) }).optional(),
      /** Cache of safe reads (GET/HEAD), off unless set; upstream `Cache-Control` can only shorten or forbid it. */
      cache: z.strictObject({ ttlSeconds: z.number().int().positive().max(86_400) }).optional(),
    })
    .prefault({}),
  /** Discovery meta-tools instead of the full list, for toolsets whose `tools/list` would be large. */
  discovery: z
    .strictObject({
      mode: z.enum(['auto', 'always', 'never']).default('auto'),
      /** `auto` switches to discovery when the full `tools/list` would take more tokens (o200k) than this. */
      maxListTokens: z.number().int().min(100).max(10_000_000).default(1_000),
      /** Older count rule, kept for existing configs: `auto` also switches when the toolset has more tools. */
      threshold: z.number().int().min(1).max(10_000).optional(),
      pinned: z.array(z.string().min(1)).default([]),
    })
    .prefault({}),
});

const clientKeySchema = z.strictObject({
  name: z.string().min(1).max(100),
  key: secretString.refine((k) => k.length >= 24, 'expected at least 24 characters (use `gatehouse keys create`)'),
  toolsets: z.array(id).min(1),
  subject: z.string().min(1).max(200).default('shared'),
});

/** An OAuth client registered in the config: the only clients shown as verified on the consent page. */
const oauthClientSchema = z.strictObject({
  clientId: z.string().min(1).max(200),
  /** Shown on the consent page. */
  name: z.string().min(1).max(100),
  /** Exact redirect URIs (loopback `http://127.0.0.1/...` ones match any port, RFC 8252). */
  redirectUris: z.array(z.url()).min(1),
  /** For a confidential client (`client_secret_basic`); absent = a public client (PKCE only). */
  clientSecret: secretString.optional(),
});

/** Gatehouse as the OAuth 2.1 authorization server of this tenant's MCP clients (docs/connect-clients.md). */
const oauthServerSchema = z.strictObject({
  /** Dynamic Client Registration (RFC 7591) at `/oauth/{tenant}/reg`. */
  dynamicRegistration: z.boolean().default(true),
  /** Client ID Metadata Documents: an `https://` client id is fetched (through the SSRF guard) and used. */
  clientIdMetadataDocuments: z.boolean().default(true),
  /** Access token lifetime; short, since a token is checked against the store at most once per cache period. */
  accessTokenTtlSeconds: z.number().int().min(30).max(86_400).default(600),
  /** Refresh token lifetime (rotated at every use; a reused one revokes its whole grant); default 30 days. */
  refreshTokenTtlSeconds: z
    .number()
    .int()
    .min(3_600)
    .max(365 * day)
    .default(30 * day),
  clients: z.array(oauthClientSchema).default([]),
});
/**
 * The end users of a tenant (issue 16): local accounts (created with `gatehouse users add` or the admin API, which
 * answer an invite link) and, optionally, single sign-on through the tenant's OpenID Connect provider.
 */
const usersSchema = z
  .strictObject({
    local: z.strictObject({ enabled: z.boolean().default(true) }).prefault({}),
    /** Gatehouse is the relying party: discovery from `issuer`, code flow with PKCE, nonce and `iss` checks. */
    sso: z
      .strictObject({
        issuer: z.url(),
        clientId: z.string().min(1),
        clientSecret: secretString,
        scopes: z.array(z.string().min(1)).default(['openid', 'profile', 'email']),
        /** The sign-in button says "Sign in with <label>". */
        label: z.string().min(1).max(60).default('single sign-on'),
      })
      .optional(),
    /** How long a sign-in lasts (absolute; signing out or disabling the user ends it sooner); default 12 hours. */
    sessionTtlSeconds: z
      .number()
      .int()
      .min(60)
      .max(30 * day)
      .default(12 * 3_600),
    /**
     * Budgets of local sign-in attempts (IA-07), right or wrong, known name or not: per typed name per minute and
     * per day (the lockout), and per client address per minute. Over budget: 429 with a retry time.
     */
    signInAttempts: z
      .strictObject({
        perAccountPerMinute: z.number().int().min(1).max(10_000).default(5),
        perAccountPerDay: z.number().int().min(1).max(1_000_000).default(50),
        perAddressPerMinute: z.number().int().min(1).max(10_000).default(20),
      })
      .prefault({}),
  })
  .prefault({});

/** What a tenant's own alert rule counts (docs/configuration.md, "Alert rules of a tenant"). */
export const tenantAlertMetrics = ['tool_calls', 'upstream_errors', 'policy_denials', 'refresh_failures'] as const;

/**
 * One alert rule of a tenant (issue 14): raised once per window when `metric` of one subject (a tool, a service, a
 * client key) reaches `threshold` within `windowSeconds`. Its webhook is signed with `secret`, a `${env:NAME}`
 * reference in a stored configuration; the URL is checked by the SSRF guard when written and when sent.
 */
const tenantAlertRuleSchema = z.strictObject({
  id,
  metric: z.enum(tenantAlertMetrics),
  threshold: z.number().int().min(1).max(1_000_000),
  windowSeconds: z.number().int().min(10).max(day),
  /** A disabled rule is kept (and shown) but counts nothing. */
  enabled: z.boolean().default(true),
  webhook: z
    .strictObject({
      url: z.url({ protocol: /^https?$/, error: 'expected an http or https URL' }).refine((url) => {
        const parsed = new URL(url);
        return parsed.username === '' && parsed.password === '';
      }, 'expected no user name or password in the URL (the body is signed with secret instead)'),
      /** HMAC-SHA256 key of `x-gatehouse-signature`. */
      secret: secretString,
    })
    .optional(),
});

const tenantSchema = z
  .strictObject({
    id,
    oauthServer: oauthServerSchema.prefault({}),
    services: z.array(serviceSchema).default([]),
    toolsets: z.array(toolsetSchema).default([]),
    clientKeys: z.array(clientKeySchema).default([]),
    /** Rate limit over every call of the tenant, all toolsets together. */
    rateLimit: rateLimitSchema.optional(),
    /**
     * What this tenant's approvers enter on the approval page to sign in (besides the admin token): a credential
     * the agent never holds, so an approval link in a tool result cannot approve on its own (review finding 7).
     */
    approverToken: secretString
      .refine((k) => k.length >= 24, 'expected at least 24 characters (e.g. `openssl rand -base64 32`)')
      .optional(),
    users: usersSchema,
    /** The tenant's own alert rules, besides the operator's `alerts` (which apply to every tenant). */
    alertRules: z.array(tenantAlertRuleSchema).max(50).default([]),
  })
  .superRefine((t, ctx) => {
    uniqueIds(t.services, 'services', ctx);
    uniqueIds(t.toolsets, 'toolsets', ctx);
    uniqueIds(t.alertRules, 'alertRules', ctx);
    const toolsets = new Set(t.toolsets.map((s) => s.id));
    for (const [i, k] of t.clientKeys.entries()) {
      for (const [j, s] of k.toolsets.entries()) {
        if (!toolsets.has(s)) {
          ctx.addIssue({
            code: 'custom',
            path: ['clientKeys', i, 'toolsets', j],
            message: `no toolset '${s}' in this tenant`,
          });
        }
      }
    }
  });

/** The admin token's length from which guessing it is hopeless whatever the per-address budgets allow. */
const adminTokenMinLength = 32;

/**
 * Why `adminToken` is weak and what to do, or undefined when it is absent or long enough. It opens the whole admin
 * API and the operator's console, and the per-address budgets only slow guessing (30 a minute per address or IPv6
 * /64, and anyone with many addresses has many budgets): its length is what makes guessing hopeless. Names the
 * length only, never the token. Said by `serve` at start, `check` and `doctor`.
 */
export function adminTokenWeakness(
  adminToken: string | undefined,
): { readonly problem: string; readonly fix: string } | undefined {
  if (adminToken === undefined || adminToken.length >= adminTokenMinLength) return undefined;
  return {
    problem: `the admin token has ${adminToken.length} characters: short enough to be guessed from many addresses`,
    fix: `use a random token of at least ${adminTokenMinLength} characters (e.g. openssl rand -base64 32)`,
  };
}

export const configSchema = z
  .strictObject({
    mode: z.enum(['development', 'production']).default('development'),
    listen: z
      .string()
      .regex(/^[^:]+:\d{1,5}$|^\[[0-9a-fA-F:]+\]:\d{1,5}$/, 'expected host:port')
      .refine(
        (listen) => Number(listen.slice(listen.lastIndexOf(':') + 1)) <= 65_535,
        'expected a port from 0 to 65535',
      )
      .default('127.0.0.1:8787'),
    publicUrl: z.url().optional(),
    dataDir: z.string().default('.gatehouse'),
    store: z.string().optional(),
    /**
     * PostgreSQL: the URL of the role that owns the store's tables, used only to run migrations (and grant the
     * role of `store` what serving needs); `store` then connects as that non-owner application role, bound by
     * row-level security (docs/operations.md "Tenant isolation"). Absent: `store` migrates and serves.
     * Env: GATEHOUSE_MIGRATION_STORE.
     */
    migrationStore: z
      .string()
      .regex(/^postgres(ql)?:\/\//, 'expected a postgres:// URL')
      .optional(),
    redis: z.string().optional(),
    adminToken: secretString.optional(),
    masterKey: secretString.optional(),
    masterKeyFile: z.string().optional(),
    /** Hosts (names or literal IPs) that may resolve to private, loopback or link-local addresses. */
    unsafeAllowPrivateUpstreams: z.array(z.string().min(1)).default([]),
    /**
     * The `${env:NAME}` names each tenant's users (admin API, console) may add to its stored configuration: names or
     * prefixes ending in `*`, by tenant id. A tenant not listed: `GATEHOUSE_TENANT_<ID>_*` (docs/security.md).
     */
    tenantEnv: z
      .record(
        z.string(),
        z.array(z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*\*?$/, 'expected a variable name, or a prefix ending in *')),
      )
      .default({}),
    allowedOrigins: z.array(z.string().min(1)).default([]),
    /**
     * Reverse proxies and load balancers in front of the gateway (addresses and CIDR blocks: `10.0.0.0/8`,
     * `127.0.0.1`, `fd00::/8`). A request whose peer is one of them is taken to come from the right-most address of
     * its `X-Forwarded-For` that is not one of them; per-address budgets and logs use that address. Empty (default):
     * the header is ignored and the address is the socket's peer. Env: GATEHOUSE_TRUSTED_PROXIES (comma-separated).
     */
    trustedProxies: z.preprocess(
      (value) => (typeof value === 'string' ? value.split(',').map((entry) => entry.trim()) : value),
      z
        .array(
          z.string().superRefine((entry, ctx) => {
            const range = parseAddressRange(entry);
            if ('problem' in range) ctx.addIssue({ code: 'custom', message: range.problem });
          }),
        )
        .default([]),
    ),
    demo: z.boolean().default(false),
    logLevel: z.enum(['trace', 'debug', 'info', 'warn', 'error', 'silent']).default('info'),
    /**
     * Path of better-sqlite3's compiled addon (`better_sqlite3.node`), for installs that build it elsewhere;
     * absent = the one `npm install` built. Env: GATEHOUSE_SQLITE_NATIVE_BINDING.
     */
    sqliteNativeBinding: z.string().min(1).optional(),
    /** `json`: one JSON object per line; `pretty`: one readable line for a terminal; `auto`: pretty on a TTY. */
    logFormat: z.enum(['auto', 'json', 'pretty']).default('auto'),
    /** Bearer token for `GET /metrics` besides the admin token (so a scraper need not hold the admin token). */
    metricsToken: secretString.optional(),
    /** Alert rules and their signed webhook (docs/configuration.md, "Alerts"). */
    alerts: z
      .strictObject({
        webhookUrl: z.url().optional(),
        /** HMAC-SHA256 key of `x-gatehouse-signature`; required with `webhookUrl`. */
        webhookSecret: secretString.optional(),
        evaluateEverySeconds: seconds.min(0.1).max(3_600).default(60),
        dedupSeconds: seconds.min(0).max(day).default(900),
        volumeFactor: z.number().min(1).default(5),
        volumeMinCalls: z.number().int().positive().default(100),
        upstreamErrors: z.number().int().positive().default(20),
        denials: z.number().int().positive().default(20),
        refreshFailures: z.number().int().positive().default(3),
        retries: z.number().int().min(0).max(10).default(4),
        maxQueue: z.number().int().positive().max(10_000).default(100),
      })
      .refine((a) => a.webhookUrl === undefined || a.webhookSecret !== undefined, {
        message: 'expected webhookSecret with webhookUrl (the body is HMAC-signed)',
        path: ['webhookSecret'],
      })
      .prefault({}),
    tenants: z.array(tenantSchema).default([]),
    /**
     * Audit log: `retentionSeconds` prunes older records as a chain prefix (default: keep everything).
     * `commitBeforeAnswer`: `writes` (default) answers a call with side effects only once its records are committed
     * (its intent record even before the upstream request, AU-03) and, while the log is idle, answers a safe call
     * first, writing its record right after; `all` makes every answer wait for its committed record.
     */
    audit: z
      .strictObject({
        retentionSeconds: z
          .number()
          .int()
          .min(3_600)
          .max(36_500 * day)
          .optional(),
        commitBeforeAnswer: z.enum(['writes', 'all']).default('writes'),
      })
      .prefault({}),
    /**
     * How long a process trusts a verified client key before reading it again from the store: a revocation made
     * through another process is enforced here within this time (CP-03 asks for 2 s; 0 reads the store on every
     * request).
     */
    clientKeyCache: z.strictObject({ ttlSeconds: seconds.min(0).max(60).default(1) }).prefault({}),
    /**
     * What `SIGTERM` (or SIGINT) does. `/readyz` answers 503 at once so a balancer stops sending; the process keeps
     * serving for `unreadyDelaySeconds` (set it to the balancer's probe interval times its failure threshold), then stops
     * accepting, and waits up to `drainTimeoutSeconds` for requests in flight; calls still running then have their
     * upstream requests aborted (their audit records say so) before the audit log is flushed and the store closed.
     */
    shutdown: z
      .strictObject({
        unreadyDelaySeconds: seconds.min(0).max(300).default(0),
        drainTimeoutSeconds: seconds.min(0).max(600).default(10),
      })
      .prefault({}),
    /**
     * Upstream connections of this process: `connectionsPerOrigin` pooled keep-alive connections per upstream
     * origin, of which `connectionsPerTenant` are kept for each tenant's service: it may always have that many
     * calls in flight, more only while that many stay free for others (its further calls wait in their own
     * queue), so one tenant's slow calls never take a host's every connection (MT-08).
     */
    upstreamPool: z
      .strictObject({
        connectionsPerOrigin: z.number().int().min(1).max(1_024).default(32),
        connectionsPerTenant: z.number().int().min(1).max(1_024).default(8),
      })
      .prefault({}),
    /**
     * Stored over-budget results (handles): in memory within `maxBytes`, or in Redis when `redis` is set. One
     * tenant keeps at most `maxBytesPerTenant` (default a quarter of `maxBytes`) and one subject of a tenant at most
     * `maxBytesPerSubject` (default three quarters of the tenant's); a new result evicts only its own tenant's
     * older results, never another tenant's (MT-08).
     */
    resultHandles: z
      .strictObject({
        maxBytes: z
          .number()
          .int()
          .positive()
          .default(128 * 1024 * 1024),
        maxBytesPerTenant: z.number().int().positive().optional(),
        maxBytesPerSubject: z.number().int().positive().optional(),
        /**
         * Budget of `gatehouse_result_query` expressions and `gatehouse_result_page` paths (RS-02, MT-08): each runs
         * in one of `workers` threads with a heap of `maxHeapMb`, is stopped after `timeoutSeconds`, and may answer at
         * most `maxOutputBytes` of JSON. A tenant has at most `perTenant` running and `queuePerTenant` waiting.
         */
        query: z
          .strictObject({
            timeoutSeconds: seconds.min(0.05).max(60).default(1),
            maxHeapMb: z.number().int().min(16).max(4_096).default(128),
            maxOutputBytes: z
              .number()
              .int()
              .min(1_024)
              .max(256 * 1024 * 1024)
              .default(64 * 1024),
            maxExpressionLength: z.number().int().min(1).max(2_000).default(2_000),
            workers: z.number().int().min(1).max(64).default(2),
            perTenant: z.number().int().min(1).max(64).default(1),
            queuePerTenant: z.number().int().min(0).max(1_000).default(4),
          })
          .prefault({}),
      })
      .prefault({}),
    /** In-memory result cache size (the Redis backend is used instead when `redis` is set). */
    cache: z
      .strictObject({
        maxBytes: z
          .number()
          .int()
          .positive()
          .default(64 * 1024 * 1024),
      })
      .default({ maxBytes: 64 * 1024 * 1024 }),
    /** Proactive refresh of idle OAuth connections: how often the background sweep runs (jittered). */
    oauthRefresh: z.strictObject({ backgroundIntervalSeconds: seconds.min(0.05).max(3_600).default(30) }).prefault({}),
    /** Who may open a connect link (finding connect_link_forwarded_connects_other_account). */
    connectLinks: z
      .strictObject({
        /**
         * true: whoever opens a connect link for a subject that is no user's (a client key's, `shared`) connects
         * it, without an owner/admin sign-in and confirmation. A forwarded or phished link then connects the
         * account of whoever opens it. A link for a user always needs that user's sign-in.
         */
        unsafeLinkAloneConnects: z.boolean().default(false),
      })
      .prefault({}),
    /** Out-of-band approvals of tool calls (SC-05). */
    approvals: z
      .strictObject({
        ttlSeconds: seconds
          .min(1)
          .max(7 * day)
          .default(900),
        webhookUrl: z.url().optional(),
        webhookSecret: secretString.optional(),
        /** Whether the approval link is in the tool result the agent sees; false: approvers only. */
        linkInResult: z.boolean().default(true),
        /**
         * true: whoever opens an approval link may decide, without an approver sign-in (the behaviour before
         * review finding 7). An agent that can fetch the link from its own tool result can then approve itself.
         */
        unsafeLinkAloneApproves: z.boolean().default(false),
      })
      .refine((a) => a.webhookUrl === undefined || a.webhookSecret !== undefined, {
        message: 'expected webhookSecret with webhookUrl (the body is HMAC-signed)',
        path: ['webhookSecret'],
      })
      .default({ ttlSeconds: 900, linkInResult: true, unsafeLinkAloneApproves: false }),
  })
  .superRefine((c, ctx) => {
    uniqueIds(c.tenants, 'tenants', ctx);
    if (c.migrationStore !== undefined && !/^postgres(ql)?:\/\//.test(c.store ?? '')) {
      ctx.addIssue({
        code: 'custom',
        path: ['migrationStore'],
        message: 'applies only when store is a postgres:// URL (the application role)',
      });
    }
  });

function uniqueIds(items: readonly { id: string }[], field: string, ctx: z.RefinementCtx): void {
  const seen = new Set<string>();
  items.forEach((item, i) => {
    if (seen.has(item.id))
      ctx.addIssue({ code: 'custom', path: [field, i, 'id'], message: `duplicate id '${item.id}'` });
    seen.add(item.id);
  });
}

type DeepReadonly<T> = T extends (infer U)[]
  ? readonly DeepReadonly<U>[]
  : T extends object
    ? { readonly [K in keyof T]: DeepReadonly<T[K]> }
    : T;

/** A `${env:NAME}` whose variable was not set, left unresolved because the command does not need its value. */
export interface UnresolvedVariable {
  /** Field path, e.g. `tenants[0].services[0].auth.value`. */
  readonly path: string;
  readonly variable: string;
}

export type Config = DeepReadonly<z.output<typeof configSchema>> & {
  readonly publicUrl: string;
  readonly store: string;
  /**
   * Variables that were not set when the config was parsed with `unresolvedEnv: 'defer'`; their fields hold a
   * random placeholder that is no secret anyone knows. Empty when every variable was set. Commands that need one
   * of these values call `requireResolvedEnv`.
   */
  readonly unresolvedEnv: readonly UnresolvedVariable[];
  /** Folder the config file lives in; relative description paths resolve against it. */
  readonly baseDir: string;
};
export type TenantConfig = Config['tenants'][number];
/**
 * A tenant's configuration as written (the tenant entry of the config file, before `${env:...}` substitution and
 * defaults): what the store keeps and `gatehouse export` writes.
 */
export type TenantDocument = z.input<typeof tenantSchema>;
export type ServiceConfig = TenantConfig['services'][number];
export type ServiceAuthConfig = ServiceConfig['auth'];
export type ToolsetConfig = TenantConfig['toolsets'][number];
export type TenantAlertRuleConfig = TenantConfig['alertRules'][number];
export type ClientKeyConfig = TenantConfig['clientKeys'][number];
export type OAuthServerConfig = TenantConfig['oauthServer'];
export type UsersConfig = TenantConfig['users'];

export type Environment = Readonly<Record<string, string | undefined>>;

/** Environment variables that override top-level fields, applied before validation. */
const envOverrides = {
  GATEHOUSE_MODE: 'mode',
  GATEHOUSE_LISTEN: 'listen',
  GATEHOUSE_PUBLIC_URL: 'publicUrl',
  GATEHOUSE_STORE: 'store',
  GATEHOUSE_MIGRATION_STORE: 'migrationStore',
  GATEHOUSE_REDIS: 'redis',
  GATEHOUSE_ADMIN_TOKEN: 'adminToken',
  GATEHOUSE_MASTER_KEY: 'masterKey',
  GATEHOUSE_MASTER_KEY_FILE: 'masterKeyFile',
  GATEHOUSE_DATA_DIR: 'dataDir',
  GATEHOUSE_LOG_LEVEL: 'logLevel',
  GATEHOUSE_LOG_FORMAT: 'logFormat',
  GATEHOUSE_METRICS_TOKEN: 'metricsToken',
  GATEHOUSE_SQLITE_NATIVE_BINDING: 'sqliteNativeBinding',
  GATEHOUSE_TRUSTED_PROXIES: 'trustedProxies',
} as const;

/**
 * What to do with a `${env:NAME}` whose variable is not set: `error` (default; `serve` and any command that uses
 * the values) throws `config_invalid` naming the variable and field path; `defer` (commands that only read the
 * config's shape: `check`, `keys create`, `audit verify`, ...) puts a random placeholder in its place and lists it
 * in `config.unresolvedEnv`.
 */
export type UnresolvedEnvPolicy = 'error' | 'defer';

/** A problem found while expanding a provider service; `path` is relative to the service. */
export interface ProviderExpansionIssue {
  readonly path: readonly (string | number)[];
  readonly message: string;
}

/**
 * Expands a `services` entry naming a catalogue `provider` (after `${env:...}` substitution) into a full service
 * tree that the service schema then validates; or lists what is wrong with it. Implemented by the catalogue
 * (`catalog/providers`), handed in by whoever parses a config (the CLI), so the config module stays free of it.
 */
export type ProviderExpander = (
  service: Readonly<Record<string, unknown>>,
  /** Hosts the config's `unsafeAllowPrivateUpstreams` allows (a host variable may name an IP literal only then). */
  context?: { readonly allowPrivateHosts: readonly string[] },
) => { readonly service: Record<string, unknown> } | { readonly issues: readonly ProviderExpansionIssue[] };

export interface ParseConfigOptions {
  readonly env?: Environment;
  readonly baseDir?: string;
  readonly source?: string;
  readonly unresolvedEnv?: UnresolvedEnvPolicy;
  /** Expands services that name a `provider`; without it, such a service is a `config_invalid`. */
  readonly expandProvider?: ProviderExpander;
}

/** A config file read and parsed as YAML, not yet validated (so a caller can add to it, e.g. the demo tenant). */
export interface ConfigTree {
  readonly raw: unknown;
  readonly baseDir: string;
  readonly source: string;
}

/** Reads a YAML config file into a tree. Throws `config_invalid` naming the file. */
export function readConfigTree(path: string): ConfigTree {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw new GatehouseError(
      'config_invalid',
      `Cannot read config file ${path}: ${(error as NodeJS.ErrnoException).code ?? 'error'}`,
      { file: path },
    );
  }
  try {
    return {
      raw: parseYaml(text, { prettyErrors: true, uniqueKeys: true }) ?? {},
      baseDir: dirname(resolve(path)),
      source: path,
    };
  } catch (error) {
    throw new GatehouseError('config_invalid', `${path}: invalid YAML: ${describeYamlError(error, text)}`, {
      file: path,
    });
  }
}

/**
 * The YAML parser's first line (`Unexpected flow-map-start at line 8, column 71`), never the source line it quotes
 * after it: that line may hold a literal secret. An unquoted `${env:NAME}` in a flow mapping or sequence (`{ ... }`,
 * `[ ... ]`), whose braces end the mapping, gets the fix.
 */
function describeYamlError(error: unknown, text: string): string {
  const first = ((error as Error).message.split('\n')[0] ?? '').replace(/:\s*$/, '');
  const line = (error as { linePos?: readonly { line: number }[] }).linePos?.[0]?.line;
  const source = line === undefined ? '' : (text.split('\n')[line - 1] ?? '');
  return /[{[][^'"]*\$\{env:/.test(source)
    ? `${first}: an \${env:NAME} reference inside { } or [ ] must be quoted, e.g. value: "\${env:NAME}"`
    : first;
}

/** Reads and validates a YAML config file. Throws `config_invalid` naming the file and field path. */
export function loadConfigFile(
  path: string,
  env: Environment = process.env,
  unresolvedEnv: UnresolvedEnvPolicy = 'error',
  expandProvider?: ProviderExpander,
): Config {
  const tree = readConfigTree(path);
  return parseConfig(tree.raw, {
    env,
    baseDir: tree.baseDir,
    source: tree.source,
    unresolvedEnv,
    ...(expandProvider === undefined ? {} : { expandProvider }),
  });
}

/** Validates an already-parsed config tree (from YAML or built in code). */
export function parseConfig(raw: unknown, options: ParseConfigOptions = {}): Config {
  const env = options.env ?? process.env;
  const source = options.source ?? 'config';
  const unresolved: UnresolvedVariable[] = [];
  const onMissing = (variable: string, path: readonly (string | number)[]): string => {
    if (options.unresolvedEnv !== 'defer') {
      throw new GatehouseError(
        'config_invalid',
        `${source}: ${formatPath(path)}: environment variable ${variable} is not set`,
        { path: formatPath(path), variable, source },
      );
    }
    unresolved.push({ path: formatPath(path), variable });
    // Long enough for every secret field's minimum length, and random: nobody can present it as a client key.
    return `unresolved-${variable}-${randomBytes(24).toString('base64url')}`;
  };
  const substituted = substituteEnv(raw, env, [], onMissing);
  if (typeof substituted !== 'object' || substituted === null || Array.isArray(substituted)) {
    throw new GatehouseError('config_invalid', `${source}: expected a mapping at the top level`, { path: '' });
  }
  const withEnv: Record<string, unknown> = expandProviders(
    substituted as Record<string, unknown>,
    source,
    options.expandProvider,
  );
  for (const [variable, field] of Object.entries(envOverrides)) {
    const value = env[variable];
    if (value !== undefined && value !== '') withEnv[field] = value;
  }
  const result = configSchema.safeParse(withEnv);
  if (!result.success) {
    // A placeholder in a field with a format (a URL, an enum) fails validation: name the variable instead.
    const missingAt = (path: string) => unresolved.find((u) => u.path === path);
    // A top-level field set by an environment variable is named with it: the file may not mention the field at all.
    const fromEnv = (path: string) =>
      Object.entries(envOverrides).find(
        ([variable, field]) => (field === path || path.startsWith(`${field}[`)) && (env[variable] ?? '') !== '',
      )?.[0];
    const lines = result.error.issues.map((issue) => {
      const path = formatPath(issue.path);
      const missing = missingAt(path);
      const variable = fromEnv(path);
      const where = variable === undefined ? path || '(top level)' : `${path} (from ${variable})`;
      return `  ${where}: ${missing ? `environment variable ${missing.variable} is not set` : describeIssue(issue)}`;
    });
    const first = result.error.issues[0];
    throw new GatehouseError('config_invalid', `${source}: invalid configuration\n${lines.join('\n')}`, {
      path: first ? formatPath(first.path) : '',
      source,
    });
  }
  const baseDir = options.baseDir ?? process.cwd();
  const value = result.data;
  // `stored:<sha256>` names a description stored through the admin API, not a file.
  const resolvePath = (p: string | undefined) =>
    p === undefined || isAbsolute(p) || p.startsWith('stored:') ? p : resolve(baseDir, p);
  const config = {
    ...value,
    publicUrl: (value.publicUrl ?? `http://${value.listen}`).replace(/\/+$/, ''),
    dataDir: resolvePath(value.dataDir) as string,
    store: value.store ?? `sqlite:${resolve(resolvePath(value.dataDir) as string, 'gatehouse.db')}`,
    masterKeyFile: resolvePath(value.masterKeyFile),
    baseDir,
    unresolvedEnv: unresolved,
    tenants: value.tenants.map((t) => ({
      ...t,
      services: t.services.map((s) => ({
        ...s,
        openapi: resolvePath(s.openapi),
        swagger: resolvePath(s.swagger),
        googleDiscovery: resolvePath(s.googleDiscovery),
        graphql: resolvePath(s.graphql),
        wsdl: resolvePath(s.wsdl),
      })),
    })),
  };
  return deepFreeze(config) as Config;
}

/**
 * Validates one tenant's stored document as the config file's tenant entry (same schema, `${env:...}` substituted
 * from `options.env`, providers expanded) and returns it parsed. Errors are `config_invalid` with paths relative
 * to the tenant (`toolsets[1].access`); `details.path` is the first.
 */
export function parseTenantDocument(document: unknown, options: ParseConfigOptions = {}): TenantConfig {
  try {
    const config = parseConfig({ tenants: [document] }, { ...options, source: options.source ?? 'tenant' });
    return config.tenants[0] as TenantConfig;
  } catch (error) {
    if (!(error instanceof GatehouseError)) throw error;
    const relative = (text: string) => text.replaceAll(/tenants\[0\]\.?/g, '');
    throw new GatehouseError('config_invalid', relative(error.message), {
      ...error.details,
      ...(typeof error.details['path'] === 'string' ? { path: relative(error.details['path']) } : {}),
    });
  }
}

/**
 * A tenant document with its services' relative description paths made absolute against `baseDir` (the config
 * file's folder), so a stored document means the same file to every process, wherever its config lives.
 */
export function resolveTenantDocumentPaths(document: TenantDocument, baseDir: string): TenantDocument {
  const services = (document as { services?: unknown }).services;
  if (!Array.isArray(services)) return document;
  const sources = ['openapi', 'swagger', 'googleDiscovery', 'graphql', 'wsdl'];
  return {
    ...document,
    services: services.map((service: unknown) => {
      if (service === null || typeof service !== 'object') return service;
      const copy: Record<string, unknown> = { ...(service as Record<string, unknown>) };
      for (const key of sources) {
        const path = copy[key];
        if (typeof path === 'string' && !isAbsolute(path) && !path.includes('${') && !path.startsWith('stored:'))
          copy[key] = resolve(baseDir, path);
      }
      return copy;
    }),
  } as TenantDocument;
}

/** The secret fields of a tenant document, relative to the tenant (`*` = any array index). */
const tenantSecretFields = [
  'approverToken',
  'services.*.auth.value',
  'services.*.auth.token',
  'services.*.auth.password',
  'services.*.auth.clientSecret',
  'services.*.clientSecret',
  // A catalogue provider's service holds its credential at the top (`provider: stripe`, `apiKey: ...`).
  'services.*.apiKey',
  'services.*.token',
  'services.*.password',
  'clientKeys.*.key',
  'users.sso.clientSecret',
  'alertRules.*.webhook.secret',
] as const;

/**
 * Paths of the secret fields of a tenant document that hold a value instead of a `${env:NAME}` reference. A stored
 * configuration (issue 14) keeps references only: the database, its backups and `gatehouse export` never hold a
 * secret.
 */
export function findLiteralSecrets(document: unknown): string[] {
  const found: string[] = [];
  const visit = (node: unknown, parts: readonly string[], path: (string | number)[]) => {
    if (parts.length === 0) {
      if (typeof node === 'string' && !/^\$\{env:[A-Za-z_][A-Za-z0-9_]*\}$/.test(node)) found.push(formatPath(path));
      return;
    }
    const [part, ...rest] = parts as [string, ...string[]];
    if (part === '*') {
      if (Array.isArray(node)) for (const [i, item] of node.entries()) visit(item, rest, [...path, i]);
    } else if (node !== null && typeof node === 'object' && part in node) {
      visit((node as Record<string, unknown>)[part], rest, [...path, part]);
    }
  };
  for (const field of tenantSecretFields) visit(document, field.split('.'), []);
  return found;
}

/**
 * Replaces every service that names a `provider` with its expansion. Throws `config_invalid` listing every
 * problem with its full path (`tenants[0].services[1].scopes[0]: ...`); `details.path` is the first.
 */
function expandProviders(
  root: Record<string, unknown>,
  source: string,
  expand: ProviderExpander | undefined,
): Record<string, unknown> {
  if (!Array.isArray(root['tenants'])) return { ...root };
  const problems: { path: string; message: string }[] = [];
  const tenants = root['tenants'].map((tenant, t) => {
    if (tenant === null || typeof tenant !== 'object' || !Array.isArray((tenant as { services?: unknown }).services))
      return tenant;
    const services = (tenant as { services: unknown[] }).services.map((service, s) => {
      if (service === null || typeof service !== 'object' || !('provider' in service)) return service;
      const at = (path: readonly (string | number)[]) => formatPath(['tenants', t, 'services', s, ...path]);
      if (expand === undefined) {
        problems.push({ path: at(['provider']), message: 'the provider catalogue is not available here' });
        return service;
      }
      const allowPrivateHosts = Array.isArray(root['unsafeAllowPrivateUpstreams'])
        ? root['unsafeAllowPrivateUpstreams'].filter((h): h is string => typeof h === 'string')
        : [];
      const result = expand(service as Record<string, unknown>, { allowPrivateHosts });
      if ('issues' in result) {
        for (const issue of result.issues) problems.push({ path: at(issue.path), message: issue.message });
        return service;
      }
      return result.service;
    });
    return { ...tenant, services };
  });
  if (problems.length > 0) {
    throw new GatehouseError(
      'config_invalid',
      `${source}: invalid configuration\n${problems.map((p) => `  ${p.path}: ${p.message}`).join('\n')}`,
      { path: (problems[0] as { path: string }).path },
    );
  }
  return { ...root, tenants };
}

/** A `${env:NAME}` reference in a config string (global: every one in the string). */
export const envReference = /\$\{env:([A-Za-z_][A-Za-z0-9_]*)\}/g;

type OnMissingVariable = (variable: string, path: readonly (string | number)[]) => string;

function substituteEnv(
  value: unknown,
  env: Environment,
  path: (string | number)[],
  onMissing: OnMissingVariable,
): unknown {
  if (typeof value === 'string') {
    return value.replace(envReference, (_, name: string) => env[name] ?? onMissing(name, path));
  }
  if (Array.isArray(value)) return value.map((v, i) => substituteEnv(v, env, [...path, i], onMissing));
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(
      Object.entries(value).map(([k, v]) => [k, substituteEnv(v, env, [...path, k], onMissing)]),
    );
  }
  return value;
}

/**
 * Throws `config_invalid` naming the variable and field path when a `${env:...}` under one of `paths` (field
 * paths or their prefixes; absent = every field) was left unresolved; `purpose` says what needs it.
 */
export function requireResolvedEnv(config: Config, purpose: string, paths?: readonly string[]): void {
  const missing = config.unresolvedEnv.find(
    (u) =>
      paths === undefined ||
      paths.some((p) => u.path === p || u.path.startsWith(`${p}.`) || u.path.startsWith(`${p}[`)),
  );
  if (missing !== undefined) {
    throw new GatehouseError(
      'config_invalid',
      `${missing.path}: environment variable ${missing.variable} is not set (${purpose} needs it)`,
      { path: missing.path, variable: missing.variable },
    );
  }
}

export function formatPath(path: readonly PropertyKey[]): string {
  return path.reduce<string>((out, part) => {
    if (typeof part === 'number') return `${out}[${part}]`;
    return out === '' ? String(part) : `${out}.${String(part)}`;
  }, '');
}

/**
 * Keys that moved when the schema was regrouped (issue 14), by where they were (`*` = any array index): an old key
 * is refused with its new place, relative to the same object, and its new unit where that changed.
 */
const movedFields: Readonly<Record<string, Readonly<Record<string, string>>>> = {
  'tenants.*.services.*': {
    discovery: 'googleDiscovery',
    timeoutMs: 'timeoutSeconds (in seconds)',
    connectTimeoutMs: 'connectTimeoutSeconds (in seconds)',
  },
  'tenants.*.toolsets.*': {
    scopes: 'policy.scopes',
    constraints: 'policy.constraints',
    safety: 'policy.safety',
    toolLimits: 'limits.toolRateLimits',
    concurrency: 'limits.concurrency',
    resultBudget: 'results.budget',
    toolResultBudgets: 'results.toolBudgets',
    resultHandles: 'results.handles',
    autoPaginate: 'results.autoPaginate',
    cache: 'results.cache',
  },
  'tenants.*.oauthServer': { refreshTokenTtlDays: 'refreshTokenTtlSeconds (in seconds)' },
  'tenants.*.users': { sessionHours: 'sessionTtlSeconds (in seconds)' },
  alerts: {
    secret: 'webhookSecret',
    evaluateEveryMs: 'evaluateEverySeconds (in seconds)',
    dedupMs: 'dedupSeconds (in seconds)',
  },
  approvals: { ttlMinutes: 'ttlSeconds (in seconds)' },
  audit: { retentionDays: 'retentionSeconds (in seconds)' },
  clientKeyCache: { ttlMs: 'ttlSeconds (in seconds)' },
  shutdown: {
    unreadyDelayMs: 'unreadyDelaySeconds (in seconds)',
    drainTimeoutMs: 'drainTimeoutSeconds (in seconds)',
  },
  'resultHandles.query': { timeoutMs: 'timeoutSeconds (in seconds)' },
  oauthRefresh: { backgroundIntervalMs: 'backgroundIntervalSeconds (in seconds)' },
};

/** Where an old key now lives, if it moved (see `movedFields`). */
export function movedFieldOf(path: readonly PropertyKey[], key: string): string | undefined {
  const at = path.map((part) => (typeof part === 'number' ? '*' : String(part))).join('.');
  return movedFields[at]?.[key];
}

function describeIssue(issue: z.core.$ZodIssue): string {
  if (issue.code === 'unrecognized_keys') {
    const moved = issue.keys.flatMap((key) => {
      const place = movedFieldOf(issue.path, key);
      return place === undefined ? [] : [`'${key}' moved to ${place}`];
    });
    if (moved.length === issue.keys.length) return moved.join('; ');
    const known = knownFieldsAt(configSchema, issue.path);
    const named = issue.keys.map((key) => {
      const place = movedFieldOf(issue.path, key);
      if (place !== undefined) return `'${key}' (moved to ${place})`;
      const suggestion = suggestFieldName(key, known);
      return suggestion === undefined ? `'${key}'` : `'${key}' (did you mean '${suggestion}'?)`;
    });
    return `unknown field${issue.keys.length > 1 ? 's' : ''} ${named.join(', ')}`;
  }
  if (issue.code === 'invalid_union' && 'discriminator' in issue) return issue.message;
  // zod's messages never include the offending value, so a secret in a wrong field is not echoed.
  return issue.message;
}

function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const child of Object.values(value)) deepFreeze(child);
  }
  return value;
}

/**
 * The schemas of a tenant and of the resources in it, exactly as the config file validates them: the admin API
 * validates what it stores with these and describes its request bodies from them (issue 14: one schema).
 */
export const tenantResourceSchemas = {
  tenant: tenantSchema,
  service: serviceSchema,
  toolset: toolsetSchema,
  clientKey: clientKeySchema,
  alertRule: tenantAlertRuleSchema,
} as const;
