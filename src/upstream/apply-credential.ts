import { GatehouseError } from '../core/index.ts';
import type { BuiltRequest } from './build-request.ts';

/** The credential for one upstream call, as resolved from the vault (OAuth access tokens arrive as `bearer`). */
export type UpstreamCredential =
  | { readonly type: 'none' }
  | { readonly type: 'apiKey'; readonly in: 'header' | 'query'; readonly name: string; readonly value: string }
  | { readonly type: 'bearer'; readonly token: string }
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
    case 'bearer':
      return withHeader(request, 'authorization', `Bearer ${requireSafe(requireLong(credential.token))}`);
    case 'basic': {
      if (credential.username.includes(':')) {
        throw new GatehouseError('credential_unavailable', 'Basic credential username must not contain a colon');
      }
      requireLong(credential.password);
      const encoded = Buffer.from(`${credential.username}:${credential.password}`, 'utf8').toString('base64');
      return withHeader(request, 'authorization', `Basic ${encoded}`);
    }
    case 'apiKey':
      requireLong(credential.value);
      if (credential.in === 'header') return withHeader(request, credential.name, requireSafe(credential.value));
      return withQuery(request, credential.name, credential.value);
  }
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
    case 'apiKey':
      return [credential.value, encodeURIComponent(credential.value)];
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

function withHeader(request: BuiltRequest, name: string, value: string): BuiltRequest {
  const lower = name.toLowerCase();
  const headers: Record<string, string> = {};
  for (const key in request.headers) {
    if (key.toLowerCase() !== lower) headers[key] = request.headers[key] as string;
  }
  headers[lower] = value;
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
