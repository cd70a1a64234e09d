import { type Clock, GatehouseError } from '../core/index.ts';

export interface CircuitBreakerOptions {
  readonly clock: Clock;
  /** Sliding window over which calls are counted; default 30 s. */
  readonly windowMs?: number;
  /** Fewest calls in the window before the breaker may open; default 20. */
  readonly minimumCalls?: number;
  /** Failure share (0..1) at or above which the breaker opens; default 0.5. */
  readonly failureRatio?: number;
  /** How long an open breaker refuses calls before letting one probe through; default 30 s. */
  readonly openMs?: number;
}

/** How a finished call counts: 5xx, timeouts and connection failures are failures; 4xx are successes. */
export type CallOutcomeKind = 'success' | 'failure' | 'neutral';

export interface CircuitBreaker {
  /**
   * Asks to call `host` for `scope` (a tenant and service, see `breakerScopeOf`; MT-08): each scope has its own
   * breaker per host, so one tenant's failures never pause another's calls. Throws `circuit_open` (with
   * `retryAfterSeconds`) while open. When the open time has passed, exactly one caller becomes the half-open
   * probe; the others are refused until it reports.
   */
  enter(host: string, scope?: string): void;
  /** Reports the outcome of a call admitted by `enter`. */
  record(host: string, outcome: CallOutcomeKind, scope?: string): void;
  /** `closed`, `open` or `half-open`, for tests and metrics. */
  state(host: string, scope?: string): 'closed' | 'open' | 'half-open';
}

/** The breaker scope of a call made for a tenant's service; calls for no tenant share the empty scope. */
export function breakerScopeOf(tenant: string | undefined, service: string | undefined): string {
  return tenant === undefined ? '' : `${tenant}\u0000${service ?? ''}`;
}

interface HostState {
  /** Per-second buckets of the window: [second, calls, failures] in a ring. */
  readonly seconds: Float64Array;
  readonly calls: Uint32Array;
  readonly failures: Uint32Array;
  openUntil: number;
  probing: boolean;
}

/**
 * A circuit breaker per upstream host and scope (CB-01, MT-08): with at least `minimumCalls` calls in the last `windowMs` and a
 * failure share of at least `failureRatio`, the host's breaker opens for `openMs`; calls fail fast with
 * `circuit_open`. Then one probe goes through: success closes the breaker (the window starts afresh), failure
 * opens it again. Counting uses per-second buckets, so memory per host is fixed. Times from the injected clock.
 */
export function createCircuitBreaker(options: CircuitBreakerOptions): CircuitBreaker {
  const { clock } = options;
  const windowSeconds = Math.max(1, Math.round((options.windowMs ?? 30_000) / 1000));
  const minimumCalls = options.minimumCalls ?? 20;
  const failureRatio = options.failureRatio ?? 0.5;
  const openMs = options.openMs ?? 30_000;
  // By scope, then host: both keys are strings the caller already holds (no key built per call).
  const scopes = new Map<string, Map<string, HostState>>();

  function find(host: string, scope: string): HostState | undefined {
    return scopes.get(scope)?.get(host);
  }

  function stateOf(host: string, scope: string): HostState {
    let hosts = scopes.get(scope);
    if (hosts === undefined) {
      hosts = new Map();
      scopes.set(scope, hosts);
    }
    let state = hosts.get(host);
    if (state === undefined) {
      state = {
        seconds: new Float64Array(windowSeconds).fill(-1),
        calls: new Uint32Array(windowSeconds),
        failures: new Uint32Array(windowSeconds),
        openUntil: 0,
        probing: false,
      };
      hosts.set(host, state);
    }
    return state;
  }

  function reset(state: HostState): void {
    state.seconds.fill(-1);
    state.calls.fill(0);
    state.failures.fill(0);
  }

  return {
    enter(host, scope = '') {
      const state = find(host, scope);
      if (state === undefined || state.openUntil === 0) return;
      const now = clock.monotonic();
      if (now < state.openUntil || state.probing) {
        const retryAfterSeconds = Math.max(1, Math.ceil((state.openUntil - now) / 1000));
        throw new GatehouseError(
          'circuit_open',
          `Upstream ${host} is failing; calls to it are paused, retry in ${retryAfterSeconds} s`,
          { origin: host, retryAfterSeconds },
        );
      }
      state.probing = true;
    },

    record(host, outcome, scope = '') {
      const state = stateOf(host, scope);
      if (state.probing) {
        if (outcome === 'neutral') {
          state.probing = false;
          return;
        }
        state.probing = false;
        if (outcome === 'success') {
          state.openUntil = 0;
          reset(state);
        } else {
          state.openUntil = clock.monotonic() + openMs;
        }
        return;
      }
      if (outcome === 'neutral' || state.openUntil !== 0) return;
      const second = Math.floor(clock.monotonic() / 1000);
      const slot = second % windowSeconds;
      if (state.seconds[slot] !== second) {
        state.seconds[slot] = second;
        state.calls[slot] = 0;
        state.failures[slot] = 0;
      }
      state.calls[slot] = (state.calls[slot] ?? 0) + 1;
      if (outcome === 'failure') state.failures[slot] = (state.failures[slot] ?? 0) + 1;
      if (outcome !== 'failure') return;
      let calls = 0;
      let failures = 0;
      for (let i = 0; i < windowSeconds; i++) {
        if ((state.seconds[i] ?? -1) > second - windowSeconds) {
          calls += state.calls[i] ?? 0;
          failures += state.failures[i] ?? 0;
        }
      }
      if (calls >= minimumCalls && failures >= failureRatio * calls) state.openUntil = clock.monotonic() + openMs;
    },

    state(host, scope = '') {
      const state = find(host, scope);
      if (state === undefined || state.openUntil === 0) return 'closed';
      return state.probing || clock.monotonic() >= state.openUntil ? 'half-open' : 'open';
    },
  };
}
