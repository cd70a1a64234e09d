/** Replaces secrets in text; the identity when there is nothing to hide. */
export type Scrubber = (text: string) => string;

const redacted = '[REDACTED]';
/** Secrets shorter than this are not scrubbed by value: replacing them would mangle ordinary text. */
const minimumSecretLength = 8;

/**
 * Builds a scrubber for the given secrets that removes every occurrence of each, in the encodings a secret
 * usually takes on its way into a body or a message: raw, JSON-escaped, URL-encoded, base64 and base64url.
 * Longest forms are replaced first so a secret that contains another is removed whole.
 */
export function createScrubber(secrets: readonly string[]): Scrubber {
  const forms = new Set<string>();
  for (const secret of secrets) {
    if (secret.length < minimumSecretLength) continue;
    forms.add(secret);
    forms.add(JSON.stringify(secret).slice(1, -1));
    forms.add(encodeURIComponent(secret));
    forms.add(Buffer.from(secret).toString('base64').replace(/=+$/, ''));
    forms.add(Buffer.from(secret).toString('base64url'));
  }
  if (forms.size === 0) return (text) => text;
  const ordered = [...forms].filter((f) => f.length >= minimumSecretLength).sort((a, b) => b.length - a.length);
  return (text) => {
    let out = text;
    for (const form of ordered) if (out.includes(form)) out = out.split(form).join(redacted);
    return out;
  };
}
