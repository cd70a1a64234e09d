import { listSecretForms, minimumSecretLength, redactionMarker } from './list-secret-forms.ts';

/** Replaces secrets in text; the identity when there is nothing to hide. */
export type Scrubber = (text: string) => string;

const redacted = redactionMarker;
/**
 * Scrubbers are built per tool call from the call's credential, which is nearly always one of a few static or
 * long-lived values, so they are cached by the secret values. The cache holds derived forms of secrets that the
 * process holds and decrypts anyway; it is bounded (oldest entry dropped first) so rotated tokens age out.
 */
const cacheLimit = 256;
const cache = new Map<string, Scrubber>();
const identity: Scrubber = (text) => text;

/**
 * Returns a scrubber for the given secrets that removes every occurrence of each, in the encodings a secret
 * usually takes on its way into a body, a header or a message (`listSecretForms`): raw, JSON-escaped, URL-encoded
 * (once and twice), hex, base64 and base64url, also of the URL-encoded and JSON-escaped secret (cursors).
 * Longest forms are replaced first so a secret that contains another is removed whole. Pure: the same secrets
 * always give a scrubber with the same behaviour (a cached one after the first call).
 */
export function createScrubber(secrets: readonly string[]): Scrubber {
  if (secrets.length === 0) return identity;
  // Length-prefixed, so two different lists never share a key.
  let key = '';
  for (const secret of secrets) key += `${secret.length}:${secret}`;
  let scrubber = cache.get(key);
  if (scrubber === undefined) {
    scrubber = buildScrubber(secrets);
    if (cache.size >= cacheLimit) cache.delete(cache.keys().next().value as string);
    cache.set(key, scrubber);
  }
  return scrubber;
}

/**
 * `value` (JSON) with every secret `scrub` knows removed from its text: the same value when nothing was found (no
 * copy), else a parsed copy of the scrubbed text.
 */
export function scrubJson<T>(value: T, scrub: Scrubber): T {
  const json = JSON.stringify(value);
  const clean = scrub(json);
  return clean === json ? value : (JSON.parse(clean) as T);
}

function buildScrubber(secrets: readonly string[]): Scrubber {
  const forms = new Set<string>();
  for (const secret of secrets) {
    if (secret.length < minimumSecretLength) continue;
    // Every encoding the LG-01 canary harness looks for: raw, JSON (once, twice), URL, hex, base64 at 3 offsets.
    for (const form of listSecretForms(secret)) forms.add(form);
  }
  const ordered = [...forms].filter((f) => f.length >= minimumSecretLength).sort((a, b) => b.length - a.length);
  if (ordered.length === 0) return identity;
  return (text) => {
    let out = text;
    for (const form of ordered) if (out.includes(form)) out = out.split(form).join(redacted);
    return out;
  };
}
