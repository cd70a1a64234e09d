import { checkRedirectUriRule, providerCategories } from '../catalog/index.ts';
import { GatehouseError, suggestFieldName } from '../core/index.ts';
import { describeProvider, describeProviders, type ProviderSummary } from '../gateway/index.ts';
import type { CliContext } from './cli-context.ts';
import { formatTable } from './format-table.ts';

/** `gatehouse providers list [--category C] [--json]`: the catalogue, one row per provider. */
export function runProvidersList(category: string | undefined, json: boolean, context: CliContext): number {
  if (category !== undefined && !(providerCategories as readonly string[]).includes(category)) {
    const suggestion = suggestFieldName(category, providerCategories);
    throw new GatehouseError(
      'invalid_request',
      `unknown category '${category}'${suggestion === undefined ? '' : ` (did you mean '${suggestion}'?)`}; ` +
        `categories: ${providerCategories.join(', ')}`,
      { category },
    );
  }
  const rows = describeProviders().filter(
    (s) => category === undefined || (s.provider.categories as readonly string[]).includes(category),
  );
  if (json) {
    const out = rows.map(({ provider, pack }) => ({
      id: provider.id,
      name: provider.name,
      categories: provider.categories,
      auth: provider.auth.type,
      docs: provider.docs,
      pack: pack === null ? null : { id: pack.id, tools: pack.tools.length, tokens: pack.tokens },
    }));
    context.stdout.write(`${JSON.stringify(out, null, 2)}\n`);
    return 0;
  }
  context.stdout.write(
    `${rows.length} provider(s)${category === undefined ? '' : ` in ${category}`}; details: gatehouse providers show ID\n`,
  );
  context.stdout.write(
    formatTable(
      ['id', 'name', 'categories', 'auth', 'pack tools'],
      rows.map(({ provider, pack }) => [
        provider.id,
        provider.name,
        provider.categories.join(','),
        provider.auth.type,
        pack === null ? '-' : String(pack.tools.length),
      ]),
    ),
  );
  return 0;
}

/**
 * `gatehouse providers show ID [--json]`: auth (endpoints, PKCE, refresh behaviour, quirks), the redirect URI to
 * register at the provider (from the config's `publicUrl`), scopes with their read/write class, variables, the
 * tool pack's tools, and the config lines that use it.
 */
export function runProvidersShow(id: string, publicUrl: string, json: boolean, context: CliContext): number {
  const summary = describeProvider(id);
  const redirectUri = `${publicUrl}/oauth/callback`;
  if (json) {
    context.stdout.write(
      `${JSON.stringify({ ...summary.provider, redirectUri: summary.provider.auth.type === 'oauth2' ? redirectUri : null, pack: summary.pack }, null, 2)}\n`,
    );
    return 0;
  }
  context.stdout.write(formatShow(summary, redirectUri));
  return 0;
}

function formatShow({ provider, pack }: ProviderSummary, redirectUri: string): string {
  const lines: string[] = [];
  lines.push(`${provider.name} (${provider.id}): ${provider.categories.join(', ')}`);
  lines.push(`Docs: ${provider.docs}`);
  if (provider.notes !== undefined) lines.push(`Notes: ${provider.notes}`);
  const auth = provider.auth;
  const env = provider.id.toUpperCase().replace(/-/g, '_');
  const credentialLines: string[] = [];
  switch (auth.type) {
    case 'oauth2': {
      lines.push('', 'Auth: OAuth 2 authorization code');
      lines.push(`  Redirect URI to register: ${redirectUri}`);
      const verdict = checkRedirectUriRule(provider.name, auth, redirectUri);
      lines.push(
        verdict === undefined
          ? '  Rule for it: not known to the catalogue (most accept http only on localhost; docs/providers.md#redirect-uri-to-register)'
          : `  Rule for it: ${verdict.rule}${verdict.broken ? '; this public URL is http: set publicUrl to an HTTPS address (a tunnel or a reverse proxy)' : ''}`,
      );
      lines.push(`  Authorization URL: ${auth.authorizationUrl}`);
      lines.push(`  Token URL: ${auth.tokenUrl}`);
      if (auth.revocationUrl !== undefined) lines.push(`  Revocation URL: ${auth.revocationUrl}`);
      lines.push(`  PKCE: ${auth.pkce ? 'yes' : 'no'}; token endpoint auth: ${auth.tokenEndpointAuthMethod}`);
      const params = Object.entries(auth.authorizeParams);
      if (params.length > 0)
        lines.push(`  Extra authorize parameters: ${params.map(([k, v]) => `${k}=${v}`).join(' ')}`);
      lines.push(
        `  Access tokens expire: ${auth.refresh.expiresIn}; refresh tokens rotate: ${auth.refresh.rotates ? 'yes' : 'no'}`,
      );
      if (auth.scopeSeparator !== ' ') lines.push(`  Scope separator: '${auth.scopeSeparator}'`);
      if (auth.refreshScope !== undefined)
        lines.push(`  Refresh token scope (kept on every connect link): ${auth.refreshScope}`);
      if (auth.quirks.length > 0) lines.push(`  Quirks: ${auth.quirks.join(', ')} (docs/providers.md)`);
      lines.push('', 'Scopes (* = requested by default):');
      lines.push(
        formatTable(
          ['scope', 'access', 'description'],
          auth.scopes.map((s) => [
            `${auth.defaultScopes.includes(s.name) ? '*' : ' '} ${s.name}`,
            s.access,
            s.description,
          ]),
        ).trimEnd(),
      );
      credentialLines.push(
        `      clientId: \${env:${env}_CLIENT_ID}`,
        `      clientSecret: \${env:${env}_CLIENT_SECRET}`,
      );
      break;
    }
    case 'apiKey':
      lines.push(
        '',
        `Auth: ${auth.label} in the ${auth.in} ${auth.name}${auth.prefix === undefined ? '' : ` after '${auth.prefix}'`}`,
      );
      credentialLines.push(`      apiKey: \${env:${env}_API_KEY}`);
      break;
    case 'bearer':
      lines.push('', `Auth: ${auth.label} as a bearer token`);
      credentialLines.push(`      token: \${env:${env}_TOKEN}`);
      break;
    case 'basic':
      lines.push('', `Auth: HTTP Basic (user name: ${auth.username}; password: ${auth.password})`);
      credentialLines.push(`      username: \${env:${env}_USERNAME}`, `      password: \${env:${env}_PASSWORD}`);
      break;
  }
  lines.push('', `Base URL: ${provider.baseUrl}`);
  const headers = Object.entries(provider.headers);
  if (headers.length > 0) {
    lines.push('Fixed headers (sent with every call, not tool arguments):');
    for (const [name, value] of headers) lines.push(`  ${name}: ${value}`);
  }
  if (provider.variables.length > 0) {
    lines.push('Variables (set under variables: in the service):');
    lines.push(
      formatTable(
        ['name', 'description', 'example'],
        provider.variables.map((v) => [v.name, v.description, v.example ?? v.default ?? '']),
      ).trimEnd(),
    );
  }
  lines.push('');
  if (pack === null) lines.push('Tool pack: none');
  else {
    lines.push(`Tool pack: ${pack.id}, ${pack.tools.length} tools, ${pack.tokens} tokens in tools/list`);
    lines.push(
      formatTable(
        ['tool', 'safety', 'scopes'],
        pack.tools.map((t) => [t.name, t.safety, t.scopes.map((a) => a.join('+')).join(' | ') || '-']),
      ).trimEnd(),
    );
  }
  const description = provider.description;
  if (description?.url !== undefined) lines.push(`Public description: ${description.url}`);
  if (description === undefined) {
    lines.push(
      'Description: none known (no tool pack, no public description); write one for the operations you need and set openapi: to it',
      '  (docs/providers.md#providers-without-a-description)',
    );
  }
  if (description?.licence !== undefined) lines.push(`Licence: ${description.licence}`);
  lines.push('', 'In the config:', '  services:', `    - provider: ${provider.id}`, ...credentialLines);
  if (provider.variables.length > 0) {
    lines.push('      variables:', ...provider.variables.map((v) => `        ${v.name}: ${v.example ?? '...'}`));
  }
  if (pack === null) lines.push('      openapi: ./descriptions/... # the downloaded description');
  return `${lines.join('\n')}\n`;
}
