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
