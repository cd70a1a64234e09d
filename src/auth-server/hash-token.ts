import { hash } from 'node:crypto';

/**
 * SHA-256 (hex) of a provider id: how codes, tokens, sessions and interactions are keyed in the store, so a copy
 * of the database holds no usable credential. Ids are 256-bit random values: a fast hash is enough.
 */
export function hashToken(id: string): string {
  return hash('sha256', id, 'hex');
}
