import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

/** A new random token (256 bits, base64url): session ids and invite tokens. */
export function createSecretToken(): string {
  return randomBytes(32).toString('base64url');
}

/** SHA-256 (hex) of a session id or invite token: what the store keeps instead of the token. */
export function hashSecretToken(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}

/**
 * The CSRF token of the forms a signed-in user posts, bound to the session: derived from the session id, which
 * only the browser's HttpOnly cookie holds, so another site can neither read nor compute it.
 */
export function csrfTokenOf(sessionId: string): string {
  return createHash('sha256').update(`gatehouse-user-csrf-v1\n${sessionId}`).digest('base64url');
}

/** Constant-time equality of two non-empty strings. */
export function sameToken(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && x.length > 0 && timingSafeEqual(x, y);
}

/** A well-formed token as `createSecretToken` makes them (43 base64url characters); anything else is not looked up. */
export function isWellFormedToken(value: string): boolean {
  return /^[A-Za-z0-9_-]{43}$/.test(value);
}
