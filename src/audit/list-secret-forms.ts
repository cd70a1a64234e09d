/**
 * Secrets shorter than this are not handled by value: replacing them would mangle ordinary text. The configuration
 * refuses shorter secrets and `applyCredential` never sends one, so every credential in use is scrubbed.
 */
export const minimumSecretLength = 8;

/** What every scrubber puts where a secret was. Pagination never offers a value that carries it (RS-01). */
export const redactionMarker = '[REDACTED]';

/**
 * Every form in which `secret` usually shows up on its way into a body, a header echo, a log line or a file,
 * as exact substrings to look for: raw; JSON-escaped once, twice and three times (JSON strings nested in JSON),
 * also with `/` escaped as `\/`;
 * URL-encoded (`encodeURIComponent`, form encoding, lower-case percent escapes); hex (both cases); and base64 /
 * base64url at the three byte offsets at which the secret can start inside a longer encoded value (so the password
 * inside `Basic base64(user:password)` is found whatever the user name). For an offset, only the characters that
 * depend on the secret's bytes alone are kept. Forms shorter than `minimumSecretLength` are dropped; the list is
 * sorted longest first so that a replacement removes a longer form whole before a shorter one matches inside it.
 */
export function listSecretForms(secret: string): string[] {
  if (secret.length < minimumSecretLength) return [];
  const forms = new Set<string>([secret]);
  // JSON-escaped up to three levels: a JSON string holding a JSON document, itself rendered as JSON text.
  // Each level also with `/` written `\/`, which JSON allows and PHP's json_encode does by default.
  let escaped = secret;
  let slashEscaped = secret;
  for (let level = 0; level < 3; level++) {
    escaped = JSON.stringify(escaped).slice(1, -1);
    forms.add(escaped);
    if (secret.includes('/')) {
      slashEscaped = JSON.stringify(slashEscaped).slice(1, -1).replaceAll('/', '\\/');
      forms.add(slashEscaped);
    }
  }
  const uri = encodeURIComponent(secret);
  forms.add(uri);
  forms.add(uri.replace(/%[0-9A-F]{2}/g, (percent) => percent.toLowerCase()));
  forms.add(new URLSearchParams({ x: secret }).toString().slice(2));
  forms.add(uri.replace(/%20/g, '+'));
  // A URL inside a query parameter (a `next` URL carrying `api_key=`, RS-01): encoded twice.
  forms.add(encodeURIComponent(uri));
  const bytes = Buffer.from(secret, 'utf8');
  const hex = bytes.toString('hex');
  forms.add(hex);
  forms.add(hex.toUpperCase());
  forms.add(bytes.toString('base64').replace(/=+$/, ''));
  forms.add(bytes.toString('base64url'));
  addBase64Cores(forms, bytes);
  // Opaque pagination cursors are often base64 of a query string or of JSON (`page=2&auth=<secret>`, RS-01): the
  // secret inside is then URL-encoded or JSON-escaped before the base64. Only added where that text differs.
  const inner = JSON.stringify(secret).slice(1, -1);
  if (uri !== secret) addBase64Cores(forms, Buffer.from(uri, 'utf8'));
  if (inner !== secret) addBase64Cores(forms, Buffer.from(inner, 'utf8'));
  return [...forms].filter((form) => form.length >= minimumSecretLength).sort((a, b) => b.length - a.length);
}

/**
 * Adds the base64 and base64url forms of `bytes` at the three byte offsets at which they can start inside a longer
 * encoded value, each cut to the characters that depend on these bytes alone.
 */
function addBase64Cores(forms: Set<string>, bytes: Buffer): void {
  for (const offset of [0, 1, 2] as const) {
    const padded = Buffer.concat([Buffer.alloc(offset), bytes]);
    const encoded = padded.toString('base64');
    // Characters 0..start-1 mix in the padding bytes; those from `end` on mix in whatever follows the secret.
    const start = offset === 0 ? 0 : offset === 1 ? 2 : 3;
    const end = Math.floor((padded.length * 8) / 6);
    const core = encoded.slice(start, end);
    forms.add(core);
    forms.add(core.replace(/\+/g, '-').replace(/\//g, '_'));
  }
}
