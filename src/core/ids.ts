import { randomBytes } from 'node:crypto';

/** A random URL-safe identifier with `bytes` of entropy from the CSPRNG. */
export function createId(bytes = 16): string {
  return randomBytes(bytes).toString('base64url');
}

/** Request ids: sortable by time, unique, safe in headers and logs. */
export function createRequestId(now: number = Date.now()): string {
  return `${now.toString(36).padStart(9, '0')}${randomBytes(6).toString('hex')}`;
}
