import { isIP } from 'node:net';
import {
  configSchema,
  connectionVariableRules,
  isConnectionVariable,
  knownFieldsAt,
  type ProviderExpander,
  type ProviderExpansionIssue,
  suggestFieldName,
} from '../../core/index.ts';
import { loadCatalog } from '../load-catalog.ts';
import { builtInCatalogRoot, loadProviders, type ProviderCatalogue, packPath } from './load-providers.ts';
import { type Provider, quirkVariables, templateVariables } from './provider-schema.ts';

/** Fields of the provider form that are not service fields: they become `auth` or fill the URLs. */
const providerFields = {
  oauth2: ['clientId', 'clientSecret', 'scopes'],
  apiKey: ['apiKey'],
  bearer: ['token'],
  basic: ['username', 'password'],
} as const;
const allProviderFields = ['provider', 'variables', ...Object.values(providerFields).flat()];

/** The service field recording that its OAuth scopes came from the catalogue, not from the operator's list. */
const expansionMarker = 'scopesFromCatalogue';

/** A value put into a URL without a pattern of its own: nothing that could change the URL's host or path. */
const safeVariableValue = /^[A-Za-z0-9._~-]+$/;

/**
 * The config's expander for services naming a catalogue provider (core `ProviderExpander`), over the catalogue at
 * `root` (default: the built-in one), loaded on first use and shared.
 */
export function createProviderExpander(root: string = builtInCatalogRoot): ProviderExpander {
  return (service, context) => expandProviderService(loadProviders(root), service, context);
}

/**
 * Turns `{ provider: slack, clientId, clientSecret, scopes?, variables?, ...overrides }` into a full service:
 * `id` (default the provider id), `openapi` (the provider's tool pack unless `openapi`/`swagger` is given),
 * `baseUrl` with the variables filled in, `auth` built from the provider's data and the credential fields, then
 * overridden field by field by the service's own `auth` (its `authorizeParams` merged), `scopeImplies` merged.
 * Lists every problem (unknown provider, unknown scope, missing or malformed variable, missing credential, an
 * unknown field) with the valid choices and a did-you-mean.
 */
export function expandProviderService(
  catalogue: ProviderCatalogue,
  raw: Readonly<Record<string, unknown>>,
  context?: Parameters<ProviderExpander>[1],
): ReturnType<ProviderExpander> {
  const issues: ProviderExpansionIssue[] = [];
  const id = raw['provider'];
  const listed = typeof id === 'string' ? catalogue.byId.get(id) : undefined;
  if (listed === undefined) {
    const ids = [...catalogue.byId.keys()];
    const suggestion = typeof id === 'string' ? suggestFieldName(id, ids) : undefined;
    return {
      issues: [
        {
          path: ['provider'],
          message:
            typeof id !== 'string'
              ? 'expected a provider id (see `gatehouse providers list`)'
              : `unknown provider '${id}'${suggestion === undefined ? '' : ` (did you mean '${suggestion}'?)`}; ` +
                `${ids.length} providers: see \`gatehouse providers list\``,
        },
      ],
    };
  }
  // The provider's other way in (Discord's bot token), chosen by giving its credential field instead of a client id.
  const other = listed.otherAuth;
  const provider: Provider =
    other !== undefined &&
    listed.auth.type === 'oauth2' &&
    raw['clientId'] === undefined &&
    providerFields[other.type].some((field) => raw[field] !== undefined)
      ? { ...listed, auth: other }
      : listed;
  const serviceFields = knownFieldsAt(configSchema, ['tenants', 0, 'services', 0]).filter(
    (f) => f !== 'provider' && f !== expansionMarker,
  );
  const own: readonly string[] = providerFields[provider.auth.type];
  const accepted = [...serviceFields, 'provider', 'variables', ...own];
  for (const key of Object.keys(raw)) {
    if (accepted.includes(key)) continue;
    if (key === expansionMarker) {
      issues.push({ path: [key], message: 'set by the catalogue, not in a config: list the scopes in scopes' });
      continue;
    }
    if (allProviderFields.includes(key)) {
      issues.push({
        path: [key],
        message: `not used by ${provider.name} (auth type ${provider.auth.type}); expected ${own.join(', ')}`,
      });
      continue;
    }
    const suggestion = suggestFieldName(key, accepted);
    issues.push({
      path: [key],
      message: `unknown field '${key}'${suggestion === undefined ? '' : ` (did you mean '${suggestion}'?)`}`,
    });
  }
  const values = readVariables(provider, raw['variables'], issues);
  refuseAddressHosts(provider, values, context?.allowPrivateHosts ?? [], issues);
  const fill = (template: string) =>
    template.replace(/\{([^{}]*)\}/g, (whole, name: string) => values.get(name) ?? whole);

  const service: Record<string, unknown> = {
    ...raw,
    id: raw['id'] ?? provider.id,
    provider: provider.id,
    title: raw['title'] ?? provider.name,
  };
  for (const key of ['variables', ...allProviderFields]) if (key !== 'provider') delete service[key];
  if (raw['baseUrl'] === undefined) service['baseUrl'] = fill(provider.baseUrl);
  if (['openapi', 'swagger', 'googleDiscovery', 'graphql', 'wsdl'].every((format) => raw[format] === undefined)) {
    const pack = provider.description?.pack;
    if (pack !== undefined) service['openapi'] = packPath(catalogue.root, pack);
    else {
      const url = provider.description?.url;
      issues.push({
        path: ['openapi'],
        message: `${provider.name} has no tool pack in the catalogue; ${
          url === undefined ? 'give its description' : `download its description from ${url}`
        } and set openapi: (or swagger:) to the file`,
      });
    }
  }
  const ownHeaders = raw['headers'];
  if (Object.keys(provider.headers).length > 0) {
    // The service's own value wins, whatever the case of its name.
    const own = ownHeaders !== null && typeof ownHeaders === 'object' ? (ownHeaders as Record<string, unknown>) : {};
    const overridden = new Set(Object.keys(own).map((name) => name.toLowerCase()));
    service['headers'] = {
      ...Object.fromEntries(Object.entries(provider.headers).filter(([name]) => !overridden.has(name.toLowerCase()))),
      ...own,
    };
  }
  const auth = buildAuth(provider, raw, fill, issues, values);
  if (provider.auth.type === 'oauth2' && raw['scopes'] === undefined && provider.description?.pack !== undefined) {
    if (service['openapi'] === packPath(catalogue.root, provider.description.pack)) {
      // The configured scopes are a ceiling (tools beyond them are hidden); with none named, the pack's own scopes
      // join the defaults, and a connect link asks for what the toolset's tools need of them (selectConnectScopes),
      // the first of each tool's equal alternatives only (`scopesFromCatalogue`): never Slack's im:history unasked.
      auth['scopes'] = [...new Set([...provider.auth.defaultScopes, ...scopesOfPack(service['openapi'])])];
    }
  }
  const override = raw['auth'];
  if (override !== undefined && override !== null && typeof override === 'object') {
    const o = override as Record<string, unknown>;
    service['auth'] =
      o['type'] === undefined || o['type'] === auth['type']
        ? {
            ...auth,
            ...o,
            ...(auth['authorizeParams'] !== undefined && typeof o['authorizeParams'] === 'object'
              ? { authorizeParams: { ...(auth['authorizeParams'] as object), ...(o['authorizeParams'] as object) } }
              : {}),
          }
        : o;
  } else service['auth'] = auth;
  const listedInAuth = override !== null && typeof override === 'object' && 'scopes' in override;
  if ((service['auth'] as { type?: unknown }).type === 'oauth2' && raw['scopes'] === undefined && !listedInAuth) {
    service[expansionMarker] = true;
  }
  if (provider.auth.type === 'oauth2') {
    const implies = raw['scopeImplies'];
    service['scopeImplies'] = {
      ...provider.auth.scopeImplies,
      ...(implies !== null && typeof implies === 'object' ? implies : {}),
    };
  }
  return issues.length > 0 ? { issues } : { service };
}

function readVariables(provider: Provider, given: unknown, issues: ProviderExpansionIssue[]): Map<string, string> {
  const values = new Map<string, string>();
  const declared = provider.variables.map((v) => v.name);
  if (given !== undefined && (given === null || typeof given !== 'object' || Array.isArray(given))) {
    issues.push({ path: ['variables'], message: `expected a mapping of ${declared.join(', ') || 'no variables'}` });
    return values;
  }
  const entries = Object.entries((given ?? {}) as Record<string, unknown>);
  const filledHere = (provider.auth.type === 'oauth2' ? provider.auth.quirks : [])
    .map((q) => quirkVariables[q])
    .filter((v): v is string => v !== undefined && templateVariables(provider.baseUrl).includes(v));
  for (const [name, value] of entries) {
    if (filledHere.includes(name) && typeof value === 'string') {
      // Pins one org or site for every connection; checked by the same rule as a discovered value.
      if (isConnectionVariable(name) && !connectionVariableRules[name].pattern.test(value)) {
        issues.push({ path: ['variables', name], message: `expected ${connectionVariableRules[name].how}` });
      } else values.set(name, value);
      continue;
    }
    if (!declared.includes(name)) {
      const suggestion = suggestFieldName(name, [...declared, ...filledHere]);
      issues.push({
        path: ['variables', name],
        message: `unknown variable '${name}'${suggestion === undefined ? '' : ` (did you mean '${suggestion}'?)`}; ${
          provider.name
        } has ${[...declared, ...filledHere].join(', ') || 'no variables'}`,
      });
    } else if (typeof value !== 'string') {
      issues.push({ path: ['variables', name], message: 'expected a string' });
    } else values.set(name, value);
  }
  for (const variable of provider.variables) {
    const value = values.get(variable.name) ?? variable.default;
    if (value === undefined) {
      issues.push({
        path: ['variables', variable.name],
        message: `missing: ${variable.description}${variable.example === undefined ? '' : ` (e.g. ${variable.example})`}; ${
          provider.name
        } needs ${declared.join(', ')}`,
      });
      continue;
    }
    const pattern = variable.pattern === undefined ? safeVariableValue : new RegExp(`^(?:${variable.pattern})$`, 'u');
    if (!pattern.test(value)) {
      issues.push({ path: ['variables', variable.name], message: `expected a value matching ${pattern.source}` });
      continue;
    }
    values.set(variable.name, value);
  }
  return values;
}

/**
 * A variable that fills a URL's host (an Okta or Auth0 domain) must name a host, not an IP address: the gateway
 * sends the client secret and the users' tokens there, and a literal (169.254.169.254) would reach a private
 * network. Allowed only for a host listed in `unsafeAllowPrivateUpstreams`.
 */
function refuseAddressHosts(
  provider: Provider,
  values: ReadonlyMap<string, string>,
  allowed: readonly string[],
  issues: ProviderExpansionIssue[],
): void {
  const auth = provider.auth as { authorizationUrl?: string; tokenUrl?: string; revocationUrl?: string };
  const templates = [provider.baseUrl, auth.authorizationUrl, auth.tokenUrl, auth.revocationUrl];
  const refused = new Set<string>();
  for (const template of templates) {
    if (template === undefined) continue;
    // The variables before the path: `https://{domain}/...`, or a whole origin (`{instanceUrl}/services/...`).
    const authority = template.replace(/^[a-z][a-z0-9+.-]*:\/\//i, '').split(/[/?#]/)[0] ?? '';
    const names = [...authority.matchAll(/\{([^{}]*)\}/g)].map((m) => m[1] as string).filter((n) => values.has(n));
    if (names.length === 0) continue;
    let host: string;
    try {
      host = new URL(template.replace(/\{([^{}]*)\}/g, (whole, n: string) => values.get(n) ?? whole)).hostname;
    } catch {
      continue; // not a URL once filled: the config's own URL check names it
    }
    host = host.replace(/^\[(.*)\]$/, '$1').toLowerCase();
    if (isIP(host) === 0 || allowed.some((a) => a.toLowerCase().replace(/^\[(.*)\]$/, '$1') === host)) continue;
    for (const name of names) {
      if (refused.has(name)) continue;
      refused.add(name);
      issues.push({
        path: ['variables', name],
        message: `expected a host name, not an IP address (${host}); allow it with unsafeAllowPrivateUpstreams (top-level)`,
      });
    }
  }
}

function buildAuth(
  provider: Provider,
  raw: Readonly<Record<string, unknown>>,
  fill: (template: string) => string,
  issues: ProviderExpansionIssue[],
  pinned: ReadonlyMap<string, string>,
): Record<string, unknown> {
  const required = (field: string, what: string) => {
    if (raw[field] === undefined) issues.push({ path: [field], message: `missing: ${what} for ${provider.name}` });
    return raw[field];
  };
  const auth = provider.auth;
  switch (auth.type) {
    case 'apiKey':
      return {
        type: 'apiKey',
        in: auth.in,
        name: auth.name,
        value: required('apiKey', `the ${auth.label}`),
        ...(auth.prefix === undefined ? {} : { prefix: auth.prefix }),
      };
    case 'bearer':
      return { type: 'bearer', token: required('token', `the ${auth.label}`) };
    case 'basic':
      return {
        type: 'basic',
        username: required('username', `the ${auth.username}`),
        password: required('password', `the ${auth.password}`),
      };
    case 'oauth2': {
      const known = auth.scopes.map((s) => s.name);
      const scopes = raw['scopes'] ?? auth.defaultScopes;
      if (!Array.isArray(scopes)) issues.push({ path: ['scopes'], message: 'expected a list of scopes' });
      else {
        scopes.forEach((scope, i) => {
          if (typeof scope === 'string' && known.includes(scope)) return;
          const suggestion = typeof scope === 'string' ? suggestFieldName(scope, known) : undefined;
          issues.push({
            path: ['scopes', i],
            message: `unknown scope '${String(scope)}' for ${provider.name}${
              suggestion === undefined ? '' : ` (did you mean '${suggestion}'?)`
            }; valid: ${known.join(', ')}`,
          });
        });
      }
      // A quirk-filled variable in the authorization server's URLs cannot be known before connecting.
      const urls = [auth.authorizationUrl, auth.tokenUrl, auth.revocationUrl].filter((u) => u !== undefined);
      for (const url of urls) {
        const declared = provider.variables.map((v) => v.name);
        const left = templateVariables(fill(url)).filter((name) => !declared.includes(name));
        if (left.length > 0) {
          issues.push({
            path: ['provider'],
            message: `${url} needs ${left.join(', ')}, which is known only after connecting`,
          });
        }
      }
      return {
        type: 'oauth2',
        authorizationUrl: fill(auth.authorizationUrl),
        tokenUrl: fill(auth.tokenUrl),
        ...(auth.revocationUrl === undefined ? {} : { revocationUrl: fill(auth.revocationUrl) }),
        clientId: required('clientId', 'the OAuth client id of your app'),
        ...(raw['clientSecret'] === undefined ? {} : { clientSecret: raw['clientSecret'] }),
        scopes,
        authorizeParams: auth.authorizeParams,
        tokenEndpointAuthMethod: auth.tokenEndpointAuthMethod,
        scopeSeparator: auth.scopeSeparator,
        pkce: auth.pkce,
        // A quirk that finds a variable for each connection is left out when the config pins that variable:
        // `variables: { cloudId }` means no accessible-resources call and no site chooser after connecting.
        quirks: auth.quirks.filter((quirk) => {
          const variable = quirkVariables[quirk];
          return variable === undefined || !pinned.has(variable);
        }),
        ...(auth.refreshScope === undefined ? {} : { refreshScope: auth.refreshScope }),
        ...(auth.tokenHeader === undefined ? {} : { tokenHeader: auth.tokenHeader }),
      };
    }
  }
}

/** Every scope the tools of a pack need, in the pack's order. */
function scopesOfPack(file: string): string[] {
  return [...new Set(loadCatalog(file).tools.flatMap((tool) => tool.scopes.flat()))];
}
