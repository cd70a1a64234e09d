import { hash, randomBytes } from 'node:crypto';

/** Client keys start with this, so secret scanners can recognise a leaked one. */
export const clientKeyPrefix = 'gatehouse_sk_';

/**
 * SHA-256 of a client key (hex). Keys are 256-bit random values, so a fast hash is enough: there is nothing to
 * brute-force, and the request path needs no key derivation.
 */
export function hashClientKey(key: string): string {
  return hash('sha256', key, 'hex');
}

/** A new client key: the prefix plus 32 random bytes, base64url. */
export function createClientKey(): string {
  return `${clientKeyPrefix}${randomBytes(32).toString('base64url')}`;
}

/** Random characters of a generated key shown in its label: 24 of its 256 bits, enough to tell keys apart. */
const labelCharacters = 4;

/**
 * What the store keeps (and the admin API shows) to tell keys apart without revealing them (ST-08, issue 17
 * finding 8(e)): a generated key (`gatehouse_sk_` plus at least 32 characters) shows that public marker plus 4
 * characters; any other key, such as one an operator wrote into the config, shows none of its characters, only
 * `sha256:` and 8 hex digits of its hash (the full hash is stored anyway).
 */
export function labelClientKey(key: string): string {
  if (key.startsWith(clientKeyPrefix) && key.length >= clientKeyPrefix.length + 32) {
    return key.slice(0, clientKeyPrefix.length + labelCharacters);
  }
  return `sha256:${hashClientKey(key).slice(0, 8)}`;
}
