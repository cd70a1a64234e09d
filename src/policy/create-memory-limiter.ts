import type { Clock } from '../core/index.ts';
import type { LimitAdmission, LimitDecision, Limiter, LimitRule } from '../store/index.ts';

const noop = () => {};
const admittedWithoutSlots: LimitAdmission = Object.freeze({ admitted: true, release: noop });

/**
 * The in-process Limiter (one gateway process). Rate limits use GCRA: one number per key, the theoretical
 * arrival time (TAT) of the next call; a call at `now` is admitted when `TAT - now <= (burst - 1) * T` with
 * `T = 60 s / perMinute`, and then advances TAT by `T`. Equivalent to a token bucket of size `burst` refilling
 * `perMinute` per minute, without a timer or a float token count. Concurrency limits are in-flight counters.
 * Keys whose TAT has passed are dropped once a minute, so memory follows the active keys.
 *
 * `admit` is synchronous underneath (the returned promise is already settled).
 */
export function createMemoryLimiter(clock: Clock): Limiter & { admitNow(rules: readonly LimitRule[]): LimitDecision } {
  const tats = new Map<string, number>();
  const inFlight = new Map<string, number>();
  let lastSweep = clock.monotonic();

  function admitNow(rules: readonly LimitRule[]): LimitDecision {
    if (rules.length === 0) return admittedWithoutSlots;
    const now = clock.monotonic();
    if (now - lastSweep > 60_000) {
      for (const [key, tat] of tats) if (tat <= now) tats.delete(key);
      lastSweep = now;
    }
    let refusedBy: string | undefined;
    let waitMs = 0;
    for (const rule of rules) {
      if (rule.kind === 'rate') {
        const interval = 60_000 / rule.perMinute;
        const tat = Math.max(tats.get(rule.key) ?? now, now);
        const wait = tat - now - (rule.burst - 1) * interval;
        if (wait > 0 && wait >= waitMs) {
          refusedBy = rule.limit;
          waitMs = wait;
        }
      } else if ((inFlight.get(rule.key) ?? 0) >= rule.maxInFlight && refusedBy === undefined) {
        refusedBy = rule.limit;
      }
    }
    if (refusedBy !== undefined) {
      return { admitted: false, limit: refusedBy, retryAfterSeconds: Math.max(1, Math.ceil(waitMs / 1000)) };
    }
    const slots: string[] = [];
    for (const rule of rules) {
      if (rule.kind === 'rate') {
        tats.set(rule.key, Math.max(tats.get(rule.key) ?? now, now) + 60_000 / rule.perMinute);
      } else {
        inFlight.set(rule.key, (inFlight.get(rule.key) ?? 0) + 1);
        slots.push(rule.key);
      }
    }
    if (slots.length === 0) return admittedWithoutSlots;
    const taken = slots;
    let released = false;
    return {
      admitted: true,
      release() {
        if (released) return;
        released = true;
        for (const key of taken) {
          const count = (inFlight.get(key) ?? 1) - 1;
          if (count <= 0) inFlight.delete(key);
          else inFlight.set(key, count);
        }
      },
    };
  }

  return {
    admitNow,
    admit: (rules) => Promise.resolve(admitNow(rules)),
    close: () => Promise.resolve(),
  };
}
