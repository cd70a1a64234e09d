import { type Clock, GatehouseError } from '../core/index.ts';
import type { ConnectionRecord, LockedConnection, Store } from '../store/index.ts';
import type { Vault } from '../vault/index.ts';
import { describeRefreshFailure } from './describe-refresh-failure.ts';
import { createStoreRefreshLock, type RefreshLock } from './refresh-lock.ts';
import type { RefreshFailureReason, SendRefresh } from './refresh-request.ts';

/** An access token ready for one upstream call. Hand it to the request builder only. */
export interface FreshToken {
  readonly accessToken: string;
  /** Pass back as `rejectedVersion` when the upstream answers 401 with this token. */
  readonly tokenVersion: number;
  readonly expiresAt: number | null;
  readonly scopes: readonly string[];
  readonly service: string;
  /** The connection's base URL variables as stored with this token (a refresh may have moved them). */
  readonly variables: Readonly<Record<string, string>>;
}

export interface EnsureFreshOptions {
  /** Redeem even if the token looks fresh (the upstream said 401). Skips the cooldown. */
  readonly force?: boolean;
  /**
   * The version of the token the upstream rejected. When the stored version is already newer (a sibling
   * refreshed meanwhile), that token is used and nothing is redeemed.
   */
  readonly rejectedVersion?: number;
  /**
   * The version of the row the caller read (the gateway reads a connection once per call, and checks its scopes).
   * A cached or in-flight record older than it is not used: the row was connected again since (a step-up consent, a
   * re-authorisation, in this process or another), and its old token would be sent with the new row's scopes.
   */
  readonly knownVersion?: number;
}

/** Where a redemption is; the points at which a process may die (FT-08). */
export type RefreshPhase = 'before_request' | 'after_response' | 'after_commit';

/** What happened, for audit and logs. Never carries a token. */
export type RefreshEvent =
  | {
      readonly kind: 'refreshed';
      readonly tenantId: string;
      readonly connectionId: string;
      readonly tokenVersion: number;
      readonly rotated: boolean;
    }
  | {
      readonly kind: 'sibling_refreshed';
      readonly tenantId: string;
      readonly connectionId: string;
      readonly tokenVersion: number;
    }
  | {
      readonly kind: 'refresh_failed';
      readonly tenantId: string;
      readonly connectionId: string;
      readonly reason: RefreshFailureReason;
      readonly failures: number;
      readonly cooldownUntil: number;
    }
  /** Security event: the stored refresh token was refused and no sibling replaced it (RF-05, FT-08). */
  | {
      readonly kind: 'needs_reauth';
      readonly tenantId: string;
      readonly connectionId: string;
      readonly reason: 'invalid_grant';
    }
  /** Tokens were redeemed but could not be saved; if the server rotated, the next refresh will surface it. */
  | {
      readonly kind: 'commit_failed';
      readonly tenantId: string;
      readonly connectionId: string;
      readonly rotated: boolean;
    };

export interface RefreshEngineDependencies {
  readonly store: Pick<Store, 'connections'> & Partial<Pick<Store, 'tenants'>>;
  readonly vault: Pick<Vault, 'encrypt' | 'decrypt'>;
  readonly clock: Clock;
  readonly sendRefresh: SendRefresh;
  /** Cross-process lock; default the store's (`createStoreRefreshLock`). */
  readonly lock?: RefreshLock;
  /**
   * Refresh this long before expiry; default 60,000 ms. A function is asked at each use (the gateway's margin follows
   * the tenants served now, issue 14).
   */
  readonly marginMs?: number | (() => number);
  /** Token request timeout; capped at 80% of the lock's lease. Default 10,000 ms. */
  readonly requestTimeoutMs?: number;
  /** Cooldown after a failed refresh: `base * 2^(failures-1)`, at most `max`. Default 1,000 / 300,000 ms. */
  readonly cooldownBaseMs?: number;
  readonly cooldownMaxMs?: number;
  /** How long a connection read from the store serves the fast path; default 5,000 ms. */
  readonly cacheMs?: number;
  /** Proactive refresh of idle connections: sweep interval (default 30,000 ms) and per-connection jitter. */
  readonly backgroundIntervalMs?: number;
  readonly backgroundJitterMs?: number;
  /** Called for every event; must not throw. */
  readonly onEvent?: (event: RefreshEvent) => void;
  /** Test and crash-test hook, awaited at each phase of a redemption. */
  readonly onPhase?: (phase: RefreshPhase, tenantId: string, connectionId: string) => void | Promise<void>;
}

export interface RefreshEngine {
  /**
   * The access token of a connection, refreshed first when it expires within the margin (or when forced).
   * Within one process concurrent callers share one refresh (RF-01); across processes the lock lets one redeem
   * and the others use its committed result. Throws `connection_required` (no such connection),
   * `reauth_required` (needs a new consent), `credential_unavailable` (token endpoint failing or sibling busy;
   * retryable, `details.retryAfterMs` when known) and `store_unavailable` (FT-05: nothing is redeemed).
   */
  ensureFresh(tenantId: string, connectionId: string, options?: EnsureFreshOptions): Promise<FreshToken>;
  /** Refreshes every active connection of these tenants that expires within the margin plus `lookaheadMs`. */
  refreshIdle(tenantIds: Iterable<string>, lookaheadMs?: number): Promise<number>;
  /** Starts the background sweep over `tenantIds()` (timer unref'd, jittered). */
  start(tenantIds: () => Iterable<string> | Promise<Iterable<string>>): void;
  /** Stops the sweep and waits for a running one. */
  stop(): Promise<void>;
}

/** One in-process refresh flow and the callers' shared view of its result. */
interface Flight {
  readonly record: Promise<ConnectionRecord>;
  token(): Promise<FreshToken>;
}

/** How a redemption under the lock ended: the record to use, or the error to throw once the lock is let go. */
interface Settled {
  readonly record: ConnectionRecord;
  readonly committed: boolean;
  readonly error?: GatehouseError;
}

const accessField = 'access_token';
const refreshField = 'refresh_token';
const ownerOf = (connectionId: string) => `connection:${connectionId}`;

/**
 * The rotation-safe refresh engine (DESIGN.md §6, docs/requirements.md RF-*). The order of a redemption is fixed:
 * read the row (a store that cannot be read is never redeemed against, FT-05) -> take the lock -> re-read (a
 * newer version is a sibling's success) -> redeem -> commit with the version check -> only then use the token.
 */
export function createRefreshEngine(deps: RefreshEngineDependencies): RefreshEngine {
  const { store, vault, clock, sendRefresh, onEvent, onPhase } = deps;
  const connections = store.connections;
  const lock = deps.lock ?? createStoreRefreshLock(connections, { clock });
  const margin = deps.marginMs ?? 60_000;
  const marginOf = typeof margin === 'function' ? margin : () => margin;
  const requestTimeoutMs = Math.min(deps.requestTimeoutMs ?? 10_000, Math.floor(lock.leaseMs * 0.8));
  const cooldownBaseMs = deps.cooldownBaseMs ?? 1_000;
  const cooldownMaxMs = deps.cooldownMaxMs ?? 300_000;
  const cacheMs = deps.cacheMs ?? 5_000;
  const cache = new Map<string, { record: ConnectionRecord; until: number }>();
  const inflight = new Map<string, Flight>();
  const keyOf = (tenantId: string, connectionId: string) => `${tenantId}\u0000${connectionId}`;

  const emit = (event: RefreshEvent) => {
    try {
      onEvent?.(event);
    } catch {
      // An observer must not break a refresh.
    }
  };

  const isFresh = (record: ConnectionRecord, margin: number) =>
    record.accessToken !== null && (record.accessExpiresAt === null || record.accessExpiresAt - margin > clock.now());
  const isUsable = (record: ConnectionRecord) => isFresh(record, 0);
  const lockUnavailable = (error: unknown) =>
    error instanceof GatehouseError && error.details?.['reason'] === 'lock_unavailable';

  function checkStatus(record: ConnectionRecord | undefined, tenantId: string, connectionId: string): ConnectionRecord {
    if (record === undefined) {
      throw new GatehouseError('connection_required', `No connection ${connectionId} in tenant ${tenantId}`, {
        connection: connectionId,
      });
    }
    if (record.status !== 'active') {
      throw new GatehouseError(
        'reauth_required',
        `Connection ${connectionId} to ${record.service} must be authorised again (${record.status})`,
        { connection: connectionId, service: record.service, status: record.status },
      );
    }
    return record;
  }

  async function toFreshToken(record: ConnectionRecord): Promise<FreshToken> {
    const accessToken = await vault.decrypt(
      { tenantId: record.tenantId, owner: ownerOf(record.id), field: accessField },
      record.accessToken as Uint8Array,
    );
    return {
      accessToken,
      tokenVersion: record.tokenVersion,
      expiresAt: record.accessExpiresAt,
      scopes: record.scopes,
      service: record.service,
      variables: record.variables,
    };
  }

  function unavailable(record: ConnectionRecord, reason: string, retryAfterMs?: number): GatehouseError {
    return new GatehouseError(
      'credential_unavailable',
      `The access token of connection ${record.id} to ${record.service} expired and cannot be refreshed now (${reason})`,
      {
        reason,
        connection: record.id,
        service: record.service,
        ...(retryAfterMs === undefined ? {} : { retryAfterMs: Math.max(0, Math.ceil(retryAfterMs)) }),
      },
    );
  }

  /** The token to use when no redemption happens now: the current one while it lasts, else a retryable error. */
  function keepOrFail(record: ConnectionRecord, reason: string): ConnectionRecord {
    if (isUsable(record)) return record;
    const retryAfterMs = record.refreshCooldownUntil === null ? undefined : record.refreshCooldownUntil - clock.now();
    throw unavailable(record, reason, retryAfterMs);
  }

  async function flow(
    tenantId: string,
    connectionId: string,
    force: boolean,
    rejectedVersion: number | undefined,
    margin: number,
  ): Promise<ConnectionRecord> {
    // FT-05: this read comes first; if the store is down it throws store_unavailable and nothing is redeemed.
    const before = checkStatus(await connections.get(tenantId, connectionId), tenantId, connectionId);
    if (rejectedVersion !== undefined && before.tokenVersion > rejectedVersion && isUsable(before)) return before;
    if (!force && isFresh(before, margin)) return before;
    if (!force && before.refreshCooldownUntil !== null && before.refreshCooldownUntil > clock.now()) {
      return keepOrFail(before, 'token_endpoint_cooldown');
    }
    if (before.refreshToken === null) {
      if (!force && isUsable(before)) return before;
      throw new GatehouseError(
        'reauth_required',
        `Connection ${connectionId} to ${before.service} has no refresh token; authorise it again`,
        { connection: connectionId, service: before.service, status: before.status },
      );
    }
    // Inside the lock nothing that wrote may throw: on PostgreSQL a throw rolls the transaction back, and with it
    // a needs_reauth mark or a failure count. Outcomes are returned; events wait until the lock (and its
    // transaction) has ended.
    const pending: RefreshEvent[] = [];
    const progress = { redeemed: false, rotated: false };
    let settled: Settled;
    try {
      settled = await lock.withLock(tenantId, connectionId, async (locked): Promise<Settled> => {
        const current = checkStatus(locked.record, tenantId, connectionId);
        // Re-read under the lock: a sibling may have refreshed while we waited for it.
        if (current.tokenVersion !== before.tokenVersion && isUsable(current)) {
          pending.push({ kind: 'sibling_refreshed', tenantId, connectionId, tokenVersion: current.tokenVersion });
          return { record: current, committed: false };
        }
        if (!force && isFresh(current, margin)) return { record: current, committed: false };
        // A forced refresh after a 401 must not hand back the token the upstream just refused (OA-16).
        const refused = force && rejectedVersion !== undefined && current.tokenVersion <= rejectedVersion;
        return redeem(current, locked, pending, progress, refused);
      });
    } catch (error) {
      if (progress.redeemed) emit({ kind: 'commit_failed', tenantId, connectionId, rotated: progress.rotated });
      // The lock could not be taken (Redis down, nothing redeemed): like a token endpoint that is down (RF-07), a
      // token that has not expired yet keeps working; refreshing without the lock could redeem a refresh token a
      // sibling is redeeming, which a reuse-detecting server answers by revoking the whole family.
      if (!force && lockUnavailable(error)) return keepOrFail(before, 'lock_unavailable');
      throw error;
    }
    for (const event of pending) emit(event);
    if (settled.committed) await onPhase?.('after_commit', tenantId, connectionId);
    if (settled.error !== undefined) throw settled.error;
    return settled.record;
  }

  /** Keeps the current record or, when it has expired, settles with a retryable error (no throw inside the lock). */
  function settleKeepOrFail(record: ConnectionRecord, reason: string): Settled {
    try {
      return { record: keepOrFail(record, reason), committed: false };
    } catch (error) {
      return { record, committed: false, error: error as GatehouseError };
    }
  }

  async function redeem(
    current: ConnectionRecord,
    locked: LockedConnection,
    pending: RefreshEvent[],
    progress: { redeemed: boolean; rotated: boolean },
    refused = false,
  ): Promise<Settled> {
    const { tenantId, id: connectionId } = current;
    if (current.refreshToken === null) return settleKeepOrFail(current, 'no_refresh_token');
    const refreshToken = await vault.decrypt(
      { tenantId, owner: ownerOf(connectionId), field: refreshField },
      current.refreshToken,
    );
    await onPhase?.('before_request', tenantId, connectionId);
    let outcome: Awaited<ReturnType<SendRefresh>>;
    try {
      outcome = await sendRefresh({
        tenantId,
        connection: current,
        refreshToken,
        signal: AbortSignal.timeout(requestTimeoutMs),
      });
    } catch {
      outcome = { kind: 'failed', reason: 'network' };
    }
    await onPhase?.('after_response', tenantId, connectionId);

    if (outcome.kind === 'tokens') {
      const scope = { tenantId, owner: ownerOf(connectionId) };
      const accessToken = await vault.encrypt({ ...scope, field: accessField }, outcome.accessToken);
      const rotated = outcome.refreshToken !== undefined;
      progress.redeemed = true;
      progress.rotated = rotated;
      const newRefresh =
        outcome.refreshToken === undefined
          ? undefined
          : await vault.encrypt({ ...scope, field: refreshField }, outcome.refreshToken);
      const at = clock.now();
      const saved = await locked.connections.commitTokens({
        tenantId,
        id: connectionId,
        expectedVersion: current.tokenVersion,
        accessToken,
        // OA-14: no refresh token in the answer keeps the stored one; OA-15: a rotated one replaces it.
        ...(newRefresh === undefined ? {} : { refreshToken: newRefresh }),
        accessExpiresAt: outcome.expiresInSeconds === undefined ? null : at + outcome.expiresInSeconds * 1000,
        scopes: outcome.scope === undefined ? current.scopes : outcome.scope.split(' ').filter(Boolean),
        // A provider that moved the account (Salesforce's instance_url) says so in the refresh answer.
        ...(outcome.variables === undefined ? {} : { variables: { ...current.variables, ...outcome.variables } }),
        at,
      });
      if (saved !== undefined) {
        pending.push({ kind: 'refreshed', tenantId, connectionId, tokenVersion: saved.tokenVersion, rotated });
        return { record: saved, committed: true };
      }
      // RF-03: the fence refused our write, so a newer holder committed first (or the connection left
      // `active`). Use what is stored; ours are never used.
      const latest = checkStatus(await locked.connections.get(tenantId, connectionId), tenantId, connectionId);
      pending.push({ kind: 'sibling_refreshed', tenantId, connectionId, tokenVersion: latest.tokenVersion });
      return settleKeepOrFail(latest, 'refresh_conflict');
    }

    if (outcome.kind === 'invalid_grant') {
      const latest = checkStatus(await locked.connections.get(tenantId, connectionId), tenantId, connectionId);
      if (latest.tokenVersion !== current.tokenVersion || !sameBytes(latest.refreshToken, current.refreshToken)) {
        // RF-04: a sibling rotated the token we sent; its tokens are the answer.
        pending.push({ kind: 'sibling_refreshed', tenantId, connectionId, tokenVersion: latest.tokenVersion });
        return settleKeepOrFail(latest, 'refresh_conflict');
      }
      // RF-05: the token we hold was refused and nobody replaced it. Fenced, so a sibling's newer commit wins.
      const marked = await locked.connections.setStatus(
        tenantId,
        connectionId,
        'needs_reauth',
        clock.now(),
        current.tokenVersion,
        describeRefreshFailure(outcome, clock.now()),
      );
      if (marked) pending.push({ kind: 'needs_reauth', tenantId, connectionId, reason: 'invalid_grant' });
      const error = new GatehouseError(
        'reauth_required',
        `The authorization server refused the refresh token of connection ${connectionId} to ${current.service}; authorise it again`,
        { connection: connectionId, service: current.service, status: 'needs_reauth' },
      );
      return { record: current, committed: false, error };
    }

    // RF-06: keep the credential, count the failure, cool down before the next non-forced attempt.
    const failures = current.refreshFailures + 1;
    const backoff = Math.min(cooldownMaxMs, cooldownBaseMs * 2 ** Math.min(failures - 1, 30));
    const cooldownUntil = clock.now() + Math.max(backoff, outcome.retryAfterMs ?? 0);
    await locked.connections.recordRefreshFailure(
      tenantId,
      connectionId,
      cooldownUntil,
      describeRefreshFailure(outcome, clock.now()),
      current.tokenVersion,
    );
    pending.push({ kind: 'refresh_failed', tenantId, connectionId, reason: outcome.reason, failures, cooldownUntil });
    // RF-07: a token that has not expired yet keeps working while the endpoint is down, unless the upstream has
    // just refused it.
    if (isUsable(current) && !refused) return { record: current, committed: false };
    return {
      record: current,
      committed: false,
      error: unavailable(current, outcome.reason, cooldownUntil - clock.now()),
    };
  }

  /**
   * One flow per connection at a time in this process; concurrent callers share its result (RF-01), including one
   * decryption of the new token (a storm of callers must not queue a thousand decryptions behind the refresh).
   * The shared plaintext lives only as long as the flight's callers hold it.
   */
  function shared(tenantId: string, connectionId: string, run: () => Promise<ConnectionRecord>): Flight {
    const key = keyOf(tenantId, connectionId);
    const running = inflight.get(key);
    if (running !== undefined) return running;
    const record = run()
      .then((result) => {
        cache.set(key, { record: result, until: clock.monotonic() + cacheMs });
        return result;
      })
      .finally(() => {
        if (inflight.get(key) === flight) inflight.delete(key);
      });
    let token: Promise<FreshToken> | undefined;
    const flight: Flight = {
      record,
      token: () => {
        token ??= record.then(toFreshToken);
        return token;
      },
    };
    inflight.set(key, flight);
    return flight;
  }

  /** The cached record when it serves the fast path, else the flight to join or start. */
  function lookup(
    tenantId: string,
    connectionId: string,
    options: EnsureFreshOptions,
    margin: number,
  ): { readonly cached: ConnectionRecord } | { readonly running: Flight | undefined } {
    const key = keyOf(tenantId, connectionId);
    if (options.force !== true) {
      const cached = cache.get(key);
      if (
        cached !== undefined &&
        cached.until > clock.monotonic() &&
        isFresh(cached.record, margin) &&
        cached.record.tokenVersion >= (options.knownVersion ?? 0)
      ) {
        return { cached: cached.record };
      }
    }
    return { running: inflight.get(key) };
  }

  /**
   * A forced caller needs a token other than the one the upstream refused; anyone else takes the flight's, unless it
   * is older than the row the caller read (`knownVersion`).
   */
  const satisfies = (version: number, options: EnsureFreshOptions) =>
    version >= (options.knownVersion ?? 0) &&
    (options.force !== true || (options.rejectedVersion !== undefined && version > options.rejectedVersion));

  const start = (tenantId: string, connectionId: string, options: EnsureFreshOptions, margin: number) =>
    shared(tenantId, connectionId, () =>
      flow(tenantId, connectionId, options.force === true, options.rejectedVersion, margin),
    );

  async function ensureRecord(
    tenantId: string,
    connectionId: string,
    options: EnsureFreshOptions,
    margin: number,
  ): Promise<ConnectionRecord> {
    const found = lookup(tenantId, connectionId, options, margin);
    if ('cached' in found) return found.cached;
    if (found.running !== undefined) {
      const record = await found.running.record;
      if (satisfies(record.tokenVersion, options)) return record;
    }
    return start(tenantId, connectionId, options, margin).record;
  }

  let timer: NodeJS.Timeout | undefined;
  let sweeping: Promise<unknown> | undefined;
  let stopped = true;

  const engine: RefreshEngine = {
    async ensureFresh(tenantId, connectionId, options = {}) {
      const marginMs = marginOf();
      const found = lookup(tenantId, connectionId, options, marginMs);
      if ('cached' in found) return toFreshToken(found.cached);
      if (found.running !== undefined) {
        const token = await found.running.token();
        if (satisfies(token.tokenVersion, options)) return token;
      }
      return start(tenantId, connectionId, options, marginMs).token();
    },

    async refreshIdle(tenantIds, lookaheadMs = deps.backgroundIntervalMs ?? 30_000) {
      let refreshed = 0;
      const jitterMs = deps.backgroundJitterMs ?? 0;
      const marginMs = marginOf();
      for (const tenantId of tenantIds) {
        const due = (await connections.list(tenantId)).filter(
          (c) =>
            c.status === 'active' &&
            c.refreshToken !== null &&
            c.accessExpiresAt !== null &&
            !isFresh(c, marginMs + lookaheadMs) &&
            (c.refreshCooldownUntil === null || c.refreshCooldownUntil <= clock.now()),
        );
        await Promise.all(
          due.map(async (c) => {
            // Jitter spreads the replicas' sweeps; whoever comes second finds the row refreshed.
            if (jitterMs > 0) await new Promise((resolve) => setTimeout(resolve, Math.random() * jitterMs));
            try {
              const before = c.tokenVersion;
              const record = await ensureRecord(tenantId, c.id, {}, marginMs + lookaheadMs);
              if (record.tokenVersion !== before) refreshed++;
            } catch {
              // Failures are counted on the row and reported through onEvent; the sweep goes on.
            }
          }),
        );
      }
      return refreshed;
    },

    start(tenantIds) {
      if (!stopped) return;
      stopped = false;
      const intervalMs = deps.backgroundIntervalMs ?? 30_000;
      const schedule = () => {
        if (stopped) return;
        timer = setTimeout(
          () => {
            sweeping = Promise.resolve(tenantIds())
              .then((ids) => engine.refreshIdle(ids, intervalMs))
              .catch(() => undefined)
              .finally(() => {
                sweeping = undefined;
                schedule();
              });
          },
          intervalMs + Math.random() * (deps.backgroundJitterMs ?? intervalMs / 10),
        );
        timer.unref();
      };
      schedule();
    },

    async stop() {
      stopped = true;
      if (timer !== undefined) clearTimeout(timer);
      timer = undefined;
      await sweeping;
    },
  };
  return engine;
}

function sameBytes(a: Uint8Array | null, b: Uint8Array | null): boolean {
  if (a === null || b === null) return a === b;
  return Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(Buffer.from(b.buffer, b.byteOffset, b.byteLength));
}
