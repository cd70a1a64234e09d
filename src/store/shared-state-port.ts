/**
 * Ports for shared short-lived state (DESIGN.md §4): rate and concurrency limit counters and the result cache.
 * Each has an in-memory implementation (one process) and a Redis one (several processes); main.ts picks one.
 * Keys passed to these ports are built from ids and names (or hashes) only, never from a secret.
 */

/** A rate limit: GCRA with `perMinute` emissions and a burst of `burst` calls. */
export interface RateLimitRule {
  readonly kind: 'rate';
  /** Counter key, e.g. `acme:ts:support`. Rules of one decision share a tenant. */
  readonly key: string;
  /** Which limit this is, named to the caller when it refuses (`tenant`, `toolset`, `clientKey`, `tool` ...). */
  readonly limit: string;
  readonly perMinute: number;
  readonly burst: number;
}

/** A concurrency limit: at most `maxInFlight` admitted calls under `key` until each is released. */
export interface ConcurrencyLimitRule {
  readonly kind: 'concurrency';
  readonly key: string;
  readonly limit: string;
  readonly maxInFlight: number;
  /**
   * How long a slot is held at most when its release never comes (a crashed process); a shared backend frees it
   * after this lease. Set it above the longest call (timeout plus retries).
   */
  readonly leaseMs: number;
}

export type LimitRule = RateLimitRule | ConcurrencyLimitRule;

/** An admitted call: `release` frees its concurrency slots (idempotent, never throws). */
export interface LimitAdmission {
  readonly admitted: true;
  release(): void;
}

/** A refused call: the first limit that refused (the one with the longest wait) and when to retry (>= 1 s). */
export interface LimitRefusal {
  readonly admitted: false;
  readonly limit: string;
  readonly retryAfterSeconds: number;
}

export type LimitDecision = LimitAdmission | LimitRefusal;

/**
 * Decides a set of limits for one call atomically: either every rule admits it and each is charged (rate
 * counters advance, concurrency slots are taken), or nothing is charged and the refusal names one limit. So a
 * call refused by one limit never spends another limit's budget.
 */
export interface Limiter {
  admit(rules: readonly LimitRule[]): Promise<LimitDecision>;
  close(): Promise<void>;
}

/** What a cache lookup found: the current generation of the entry's group, and the value if present. */
export interface CacheLookup {
  readonly generation: number;
  readonly value: string | undefined;
}

/**
 * Key-value store for cached results with invalidation groups. An entry is stored under the generation its
 * lookup saw; `invalidate` moves the group to a new generation, so every older entry (and every `put` of a read
 * that started before the invalidation) is unreachable at once, across all processes sharing the backend.
 */
export interface CacheBackend {
  lookup(group: string, key: string): Promise<CacheLookup>;
  put(group: string, generation: number, key: string, value: string, ttlMs: number): Promise<void>;
  invalidate(group: string): Promise<void>;
  close(): Promise<void>;
}

/**
 * Requests between the gateway processes sharing one backend (Redis): each process listens at its own `address`,
 * a random name nobody can guess, new at every start. A request is acknowledged by the process that serves it at
 * once, then answered with the handler's reply. Messages are JSON text built by the caller (ids, names, a client's
 * answers), never a credential; they pass through the backend and are not stored there.
 */
export interface ProcessBus {
  /** This process's address (URL-safe, 16 characters). */
  readonly address: string;
  /** Serves the requests sent to this process: the handler's text is the reply. One handler; a second replaces it. */
  serve(handler: (body: string) => Promise<string>): void;
  /**
   * Sends `body` to the process at `address` and waits for its reply. Rejects with `store_unavailable` when no
   * process listens there (`details.reason` `process_gone`), when it does not acknowledge within `ackTimeoutMs`, when
   * it stops listening before it replies (checked every second), when no reply comes within `replyTimeoutMs`
   * (`reason` `process_silent`), or when the backend fails; with `payload_too_large` for a body or reply over
   * `maxBytes` (UTF-8).
   */
  request(
    address: string,
    body: string,
    limits: { readonly ackTimeoutMs: number; readonly replyTimeoutMs: number; readonly maxBytes: number },
  ): Promise<string>;
  close(): Promise<void>;
}
