import { randomFillSync } from 'node:crypto';

/**
 * CSPRNG bytes are taken from a pool refilled 4 KB at a time: one `randomFillSync` per ~300 ids instead of one
 * `randomBytes` call (and Buffer) per id. Every byte is handed out once, so ids are as unpredictable as with
 * `randomBytes`; this is what `crypto.randomUUID()` does internally too.
 */
const poolSize = 4096;
const pool = Buffer.allocUnsafe(poolSize);
let poolOffset = poolSize;

/** Reserves `bytes` fresh random bytes in `pool` and returns their offset. */
function takeRandom(bytes: number): number {
  if (poolOffset + bytes > poolSize) {
    randomFillSync(pool);
    poolOffset = 0;
  }
  const offset = poolOffset;
  poolOffset += bytes;
  return offset;
}

/** A random URL-safe identifier with `bytes` of entropy from the CSPRNG. */
export function createId(bytes = 16): string {
  if (!Number.isInteger(bytes) || bytes < 1 || bytes > 256) throw new RangeError('createId: bytes must be 1 to 256');
  const offset = takeRandom(bytes);
  return pool.toString('base64url', offset, offset + bytes);
}

/** Request ids: sortable by time, unique, safe in headers and logs (9 base-36 time digits + 12 hex digits). */
export function createRequestId(now: number = Date.now()): string {
  const offset = takeRandom(6);
  return `${now.toString(36).padStart(9, '0')}${pool.toString('hex', offset, offset + 6)}`;
}
