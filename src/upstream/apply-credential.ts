import { GatehouseError } from '../core/index.ts';
import type { BuiltRequest } from './build-request.ts';

/**
 * Where a token goes when it is not `Authorization: Bearer <token>`: the header `name` and what precedes the token
 * in its value (Shopify `X-Shopify-Access-Token: <token>`, Zoho `Authorization: Zoho-oauthtoken <token>`).
 */
export interface TokenPlacement {
  readonly name: string;
  readonly prefix: string;
}

/**
 * The credential for one upstream call, as resolved from the vault (OAuth access tokens arrive as `bearer`, with
 * the provider's `placement` when it has one). `value`, `token` and `password` are the bare secrets: a `prefix`
 * is kept apart so that the scrubber removes the secret however an upstream echoes it.
 */
export type UpstreamCredential =
  | { readonly type: 'none' }
  | {
      readonly type: 'apiKey';
      readonly in: 'header' | 'query';
      readonly name: string;
      readonly value: string;
      /** Sent before the key (`"Bot "`, `"Token token="`). */
      readonly prefix?: string | undefined;
    }
  | { readonly type: 'bearer'; readonly token: string; readonly placement?: TokenPlacement | undefined }
  | { readonly type: 'basic'; readonly username: string; readonly password: string };

/**
 * Secrets shorter than this are refused: the scrubber cannot remove them from results without mangling ordinary
 * text (audit's `minimumSecretLength`; the configuration refuses them too, review finding 8a).
 */
const minimumSecretLength = 8;

/**
 * Returns a copy of `request` carrying `credential`. Call it last, after `buildRequest`: it removes every header
 * (any case) or query parameter with the credential's name before setting it, so nothing from the tool arguments
 * can override or duplicate the credential; for a query credential that includes every spelling an upstream could
 * read as the same name (see `isCredentialName`). Throws `credential_unavailable` (without the value) when the
 * credential cannot be put on the wire safely, e.g. a token containing CR/LF, or one shorter than 8 characters,
 * which no scrubber could keep out of the results (so an OAuth server issuing such a token is refused too).
 */
export function applyCredential(request: BuiltRequest, credential: UpstreamCredential): BuiltRequest {
  switch (credential.type) {
    case 'none':
      return request;
    case 'bearer': {
      const token = requireSafe(requireLong(credential.token));
      const placement = credential.placement;
      if (placement === undefined) return withHeader(request, 'authorization', `Bearer ${token}`);
      // An Authorization header from the tool arguments is dropped too: it is a credential slot of every API.
      return withHeader(withHeader(request, 'authorization', undefined), placement.name, `${placement.prefix}${token}`);
    }
    case 'basic': {
      if (credential.username.includes(':')) {
        throw new GatehouseError('credential_unavailable', 'Basic credential username must not contain a colon');
      }
      requireLong(credential.password);
      const encoded = Buffer.from(`${credential.username}:${credential.password}`, 'utf8').toString('base64');
      return withHeader(request, 'authorization', `Basic ${encoded}`);
    }
    case 'apiKey': {
      requireLong(credential.value);
      const value = `${credential.prefix ?? ''}${credential.value}`;
      if (credential.in === 'header') return withHeader(request, credential.name, requireSafe(value));
      return withQuery(request, credential.name, value);
    }
  }
}

/**
 * Returns a copy of `request` carrying a service's fixed headers (`Notion-Version`, `anthropic-version`): each
 * replaces every header of its name (any case) that the tool arguments produced, so a model can never change
 * them. Call it after `buildRequest` and before `applyCredential` (the credential's header wins over any).
 */
export function applyFixedHeaders(request: BuiltRequest, headers: Readonly<Record<string, string>>): BuiltRequest {
  let applied = request;
  for (const name in headers) applied = withHeader(applied, name, headers[name] as string);
  return applied;
}

/**
 * The forms in which `credential` could show up in an upstream's answer or an error (raw values, the encoded Basic
 * pair), for the redaction done by the modules that render results and logs (MC-10, LG-01).
 */
export function listCredentialSecrets(credential: UpstreamCredential): string[] {
  switch (credential.type) {
    case 'none':
      return [];
    case 'bearer':
      return [credential.token];
    case 'basic':
      return [
        credential.password,
        Buffer.from(`${credential.username}:${credential.password}`, 'utf8').toString('base64'),
      ];
    case 'apiKey': {
      const sent = `${credential.prefix ?? ''}${credential.value}`;
      return [credential.value, encodeURIComponent(credential.value), ...(sent === credential.value ? [] : [sent])];
    }
  }
}

const unsafeHeaderCharacter = /[^\t\x20-\x7e\x80-\xff]/;

function requireLong(value: string): string {
  if (value.length > 0 && value.length < minimumSecretLength) {
    throw new GatehouseError(
      'credential_unavailable',
      `Credential is shorter than ${minimumSecretLength} characters and could not be redacted from results`,
    );
  }
  return value;
}

function requireSafe(value: string): string {
  if (value === '' || unsafeHeaderCharacter.test(value)) {
    throw new GatehouseError(
      'credential_unavailable',
      'Credential is empty or contains characters not allowed in a header',
    );
  }
  return value;
}

/** A copy of `request` without any header named `name` (any case), then with `value` under it unless undefined. */
function withHeader(request: BuiltRequest, name: string, value: string | undefined): BuiltRequest {
  const lower = name.toLowerCase();
  const headers: Record<string, string> = {};
  for (const key in request.headers) {
    if (key.toLowerCase() !== lower) headers[key] = request.headers[key] as string;
  }
  if (value !== undefined) headers[lower] = value;
  return { method: request.method, url: request.url, headers, body: request.body, contentType: request.contentType };
}

function decodeQueryName(raw: string): string {
  try {
    return decodeURIComponent(raw.replace(/\+/g, ' '));
  } catch {
    return raw;
  }
}

/**
 * A query name as lenient servers read it: decoded, without surrounding whitespace or controls, lower-case, and
 * PHP-style (`api.key`, `api key` and `api_key[]` are all `$_GET['api_key']`).
 */
function canonicalQueryName(raw: string): string {
  return decodeQueryName(raw)
    .replace(/^[^\x21-\uffff]+|[^\x21-\uffff]+$/g, '')
    .trim()
    .replace(/\[[^\]]*\]$/, '')
    .replace(/[ .[]/g, '_')
    .toLowerCase();
}

/**
 * Whether a query name from the tool arguments is a spelling of the credential's name (review finding 8b):
 * object-style query arguments let a model add `api_key%20=x` or `API_KEY=y` beside the injected credential, which
 * a case-insensitive or trimming upstream could read instead of it.
 */
function isCredentialName(rawName: string, credentialName: string): boolean {
  return canonicalQueryName(rawName) === canonicalQueryName(credentialName);
}

// The query string is edited as text, not through URLSearchParams, which would re-encode every other parameter
// and undo `allowReserved` and the delimited styles.
function withQuery(request: BuiltRequest, name: string, value: string): BuiltRequest {
  const url = new URL(request.url.href);
  const kept = url.search
    .slice(1)
    .split('&')
    .filter((pair) => pair !== '' && !isCredentialName(pair.split('=')[0] ?? '', name));
  kept.push(`${encodeURIComponent(name)}=${encodeURIComponent(value)}`);
  url.search = kept.join('&');
  return {
    method: request.method,
    url,
    headers: request.headers,
    body: request.body,
    contentType: request.contentType,
  };
}
