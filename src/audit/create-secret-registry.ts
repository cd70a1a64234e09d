import { listSecretForms, minimumSecretLength, redactionMarker } from './list-secret-forms.ts';

export interface SecretRegistryOptions {
  /** Most rotating secrets (tokens) remembered at once; the least recently registered go first. Default 5,000. */
  readonly maxSecrets?: number;
  /** How long a rotating secret is remembered after it was last registered, ms. Default 24 h. */
  readonly ttlMs?: number;
  /** Permanent secrets (config, keys) are capped separately. Default 10,000. */
  readonly maxPermanent?: number;
  /** Milliseconds clock for the TTL. Default `Date.now`. */
  readonly now?: () => number;
}

export interface SecretRegistry {
  /**
   * Remembers a secret so `scrub` removes it in every form `listSecretForms` knows. `permanent` secrets (static
   * service credentials, client secrets, keys, the admin token) never expire; others (tokens) are kept in a
   * bounded LRU with a TTL, refreshed by registering them again. Values shorter than 8 characters are ignored.
   */
  register(secret: string, options?: { readonly permanent?: boolean }): void;
  /** Replaces every occurrence of every form of every remembered secret by `[REDACTED]`. */
  scrub(text: string): string;
  /** Remembered secrets (rotating + permanent). */
  readonly size: number;
}

const redacted = redactionMarker;
/** Below this many forms a plain `includes` per form beats the anchor scan. */
const linearFormLimit = 48;

/**
 * A registry of every secret the process knows, for scrubbing log lines and other text by value. Lookup is one
 * pass over the text: each position's first 8 characters are looked up in a map of form prefixes, so the cost
 * grows with the text, not with the number of secrets.
 */
export function createSecretRegistry(options: SecretRegistryOptions = {}): SecretRegistry {
  const maxSecrets = options.maxSecrets ?? 5_000;
  const maxPermanent = options.maxPermanent ?? 10_000;
  const ttlMs = options.ttlMs ?? 24 * 60 * 60 * 1000;
  const now = options.now ?? Date.now;
  const rotating = new Map<string, { forms: string[]; expiresAt: number }>();
  const permanent = new Map<string, string[]>();
  // anchor (first 8 characters of a form) -> form -> how many secrets produce it
  const anchors = new Map<string, Map<string, number>>();
  let formCount = 0;
  let sortedForms: string[] | undefined;

  const addForms = (forms: readonly string[]) => {
    for (const form of forms) {
      const anchor = form.slice(0, minimumSecretLength);
      let bucket = anchors.get(anchor);
      if (bucket === undefined) {
        bucket = new Map();
        anchors.set(anchor, bucket);
      }
      const count = bucket.get(form) ?? 0;
      if (count === 0) formCount++;
      bucket.set(form, count + 1);
    }
    sortedForms = undefined;
  };
  const removeForms = (forms: readonly string[]) => {
    for (const form of forms) {
      const anchor = form.slice(0, minimumSecretLength);
      const bucket = anchors.get(anchor);
      const count = bucket?.get(form);
      if (bucket === undefined || count === undefined) continue;
      if (count > 1) bucket.set(form, count - 1);
      else {
        bucket.delete(form);
        formCount--;
        if (bucket.size === 0) anchors.delete(anchor);
      }
    }
    sortedForms = undefined;
  };
  const expire = () => {
    const at = now();
    for (const [secret, entry] of rotating) {
      if (entry.expiresAt > at) break;
      rotating.delete(secret);
      removeForms(entry.forms);
    }
  };

  return {
    register(secret, registerOptions) {
      if (typeof secret !== 'string' || secret.length < minimumSecretLength) return;
      if (permanent.has(secret)) return;
      if (registerOptions?.permanent) {
        const existing = rotating.get(secret);
        if (existing !== undefined) {
          rotating.delete(secret);
          permanent.set(secret, existing.forms);
          return;
        }
        if (permanent.size >= maxPermanent) return;
        const forms = listSecretForms(secret);
        permanent.set(secret, forms);
        addForms(forms);
        return;
      }
      const existing = rotating.get(secret);
      if (existing !== undefined) {
        rotating.delete(secret);
        existing.expiresAt = now() + ttlMs;
        rotating.set(secret, existing);
        return;
      }
      const forms = listSecretForms(secret);
      rotating.set(secret, { forms, expiresAt: now() + ttlMs });
      addForms(forms);
      while (rotating.size > maxSecrets) {
        const oldest = rotating.keys().next().value as string;
        removeForms(rotating.get(oldest)?.forms ?? []);
        rotating.delete(oldest);
      }
    },

    scrub(text) {
      if (rotating.size > 0) expire();
      if (formCount === 0 || text.length < minimumSecretLength) return text;
      if (formCount <= linearFormLimit) {
        sortedForms ??= [...anchors.values()]
          .flatMap((bucket) => [...bucket.keys()])
          .sort((a, b) => b.length - a.length);
        let out = text;
        for (const form of sortedForms) if (out.includes(form)) out = out.split(form).join(redacted);
        return out;
      }
      let out = '';
      let copied = 0;
      const last = text.length - minimumSecretLength;
      for (let i = 0; i <= last; ) {
        const bucket = anchors.get(text.slice(i, i + minimumSecretLength));
        let matched = 0;
        if (bucket !== undefined) {
          for (const form of bucket.keys()) {
            if (form.length > matched && text.startsWith(form, i)) matched = form.length;
          }
        }
        if (matched === 0) {
          i++;
          continue;
        }
        out += text.slice(copied, i) + redacted;
        i += matched;
        copied = i;
      }
      return copied === 0 ? text : out + text.slice(copied);
    },

    get size() {
      return rotating.size + permanent.size;
    },
  };
}

const processRegistry = createSecretRegistry();

/** The process-wide registry the logger scrubs with. */
export function getSecretRegistry(): SecretRegistry {
  return processRegistry;
}

/** Registers a secret in the process-wide registry (see `SecretRegistry.register`). */
export function registerSecret(secret: string, options?: { readonly permanent?: boolean }): void {
  processRegistry.register(secret, options);
}
