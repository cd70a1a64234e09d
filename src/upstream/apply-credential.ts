import { GatehouseError } from '../core/index.ts';
import type { BuiltRequest } from './build-request.ts';

/** The credential for one upstream call, as resolved from the vault (OAuth access tokens arrive as `bearer`). */
export type UpstreamCredential =
  | { readonly type: 'none' }
  | { readonly type: 'apiKey'; readonly in: 'header' | 'query'; readonly name: string; readonly value: string }
  | { readonly type: 'bearer'; readonly token: string }
  | { readonly type: 'basic'; readonly username: string; readonly password: string };

/**
 * Returns a copy of `request` carrying `credential`. Call it last, after `buildRequest`: it removes every header
 * (any case) or query parameter with the credential's name before setting it, so nothing from the tool arguments
 * can override or duplicate the credential. Throws `credential_unavailable` (without the value) when the credential
 * cannot be put on the wire safely, e.g. a token containing CR/LF.
 */
export function applyCredential(request: BuiltRequest, credential: UpstreamCredential): BuiltRequest {
  switch (credential.type) {
    case 'none':
      return request;
    case 'bearer':
      return withHeader(request, 'authorization', `Bearer ${requireSafe(credential.token)}`);
    case 'basic': {
      if (credential.username.includes(':')) {
        throw new GatehouseError('credential_unavailable', 'Basic credential username must not contain a colon');
      }
      const encoded = Buffer.from(`${credential.username}:${credential.password}`, 'utf8').toString('base64');
      return withHeader(request, 'authorization', `Basic ${encoded}`);
    }
    case 'apiKey':
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

// The query string is edited as text, not through URLSearchParams, which would re-encode every other parameter
// and undo `allowReserved` and the delimited styles.
function withQuery(request: BuiltRequest, name: string, value: string): BuiltRequest {
  const url = new URL(request.url.href);
  const kept = url.search
    .slice(1)
    .split('&')
    .filter((pair) => pair !== '' && decodeQueryName(pair.split('=')[0] ?? '') !== name);
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
