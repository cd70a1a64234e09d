import { randomBytes, scrypt, timingSafeEqual } from 'node:crypto';
import { GatehouseError } from '../core/index.ts';

/**
 * scrypt cost parameters (RFC 7914). Memory is 128 * N * r bytes: 32 MiB at the defaults, which is what makes a
 * stolen hash expensive to guess on GPUs. They are stored with every hash, so they can be raised later: an older
 * hash still verifies, and `passwordNeedsRehash` says when to replace it.
 */
export interface PasswordHashParameters {
  /** CPU/memory cost, a power of two; at least 2^15. */
  readonly N: number;
  readonly r: number;
  readonly p: number;
}

export const passwordHashParameters: PasswordHashParameters = { N: 2 ** 15, r: 8, p: 1 };

const keyLength = 32;
const saltLength = 16;
const prefix = 'scrypt';

/** Shortest and longest password accepted when one is set (NIST SP 800-63B: at least 8; we ask for 12). */
export const passwordLength = { min: 12, max: 512 } as const;

/**
 * How many scrypt derivations run at once, and how many may wait. scrypt runs on libuv's thread pool (4 threads
 * unless UV_THREADPOOL_SIZE says otherwise), which file reads, DNS lookups and the vault's crypto share: a flood
 * of sign-ins must not take every thread, so at most `running` derive at once and the others wait their turn.
 * Past `waiting`, a derivation is refused at once (`rate_limited`) rather than queued for seconds.
 */
export const passwordHashConcurrency = { running: 2, waiting: 64 } as const;

let running = 0;
const queue: (() => void)[] = [];

/** Derivations running and waiting now (for tests and metrics). */
export function passwordHashLoad(): { running: number; waiting: number } {
  return { running, waiting: queue.length };
}

async function withDerivationSlot<T>(work: () => Promise<T>): Promise<T> {
  if (running >= passwordHashConcurrency.running) {
    if (queue.length >= passwordHashConcurrency.waiting) {
      throw new GatehouseError('rate_limited', 'Too many sign-ins at once; try again in a moment', {
        retryAfterSeconds: 1,
      });
    }
    await new Promise<void>((resolve) => queue.push(resolve));
  } else {
    running++;
  }
  try {
    return await work();
  } finally {
    // The slot passes straight to the next waiter (running stays the same), or is given back.
    const next = queue.shift();
    if (next === undefined) running--;
    else next();
  }
}

function derive(password: string, salt: Buffer, params: PasswordHashParameters): Promise<Buffer> {
  return withDerivationSlot(() => deriveNow(password, salt, params));
}

function deriveNow(password: string, salt: Buffer, params: PasswordHashParameters): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    scrypt(
      password.normalize('NFKC'),
      salt,
      keyLength,
      { N: params.N, r: params.r, p: params.p, maxmem: 256 * params.N * params.r + 1024 * 1024 },
      (error, key) => (error ? reject(error) : resolve(key)),
    );
  });
}

/**
 * Hashes a password with scrypt and a fresh 128-bit salt: `scrypt$N=32768,r=8,p=1$<salt>$<hash>` (base64url).
 * The password is NFKC-normalised first, so the same characters typed on another keyboard verify.
 */
export async function hashPassword(
  password: string,
  params: PasswordHashParameters = passwordHashParameters,
): Promise<string> {
  const salt = randomBytes(saltLength);
  const key = await derive(password, salt, params);
  return `${prefix}$N=${params.N},r=${params.r},p=${params.p}$${salt.toString('base64url')}$${key.toString('base64url')}`;
}

/** Parses a stored hash; undefined when it is not one `hashPassword` wrote. */
function parseHash(stored: string): { params: PasswordHashParameters; salt: Buffer; key: Buffer } | undefined {
  const parts = stored.split('$');
  if (parts.length !== 4 || parts[0] !== prefix) return undefined;
  const match = /^N=(\d+),r=(\d+),p=(\d+)$/.exec(parts[1] as string);
  if (match === null) return undefined;
  const [N, r, p] = [Number(match[1]), Number(match[2]), Number(match[3])];
  // Bounds keep a tampered row from making a verification take unbounded memory or time.
  if (N < 2 ** 10 || N > 2 ** 20 || (N & (N - 1)) !== 0 || r < 1 || r > 32 || p < 1 || p > 16) return undefined;
  const salt = Buffer.from(parts[2] as string, 'base64url');
  const key = Buffer.from(parts[3] as string, 'base64url');
  if (salt.length < 16 || key.length !== keyLength) return undefined;
  return { params: { N, r, p }, salt, key };
}

/**
 * Whether `password` matches `stored` (compared in constant time). A malformed stored value is `false`, after the
 * same work as a real check so that it cannot be told apart by time.
 */
export async function verifyPassword(password: string, stored: string): Promise<boolean> {
  const parsed = parseHash(stored);
  if (parsed === undefined) {
    await derive(password, randomBytes(saltLength), passwordHashParameters);
    return false;
  }
  const key = await derive(password, parsed.salt, parsed.params);
  return timingSafeEqual(key, parsed.key);
}

/** True when `stored` was made with weaker parameters than `params` (replace it at the next sign-in). */
export function passwordNeedsRehash(stored: string, params: PasswordHashParameters = passwordHashParameters): boolean {
  const parsed = parseHash(stored);
  return parsed === undefined || parsed.params.N < params.N || parsed.params.r < params.r || parsed.params.p < params.p;
}
