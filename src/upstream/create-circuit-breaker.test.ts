import { describe, expect, it } from 'vitest';
import type { Clock } from '../core/index.ts';
import { breakerScopeOf, type CallOutcomeKind, createCircuitBreaker } from './create-circuit-breaker.ts';

function manualClock(): Clock & { advance(ms: number): void } {
  let t = 1_000_000;
  return {
    now: () => t,
    monotonic: () => t,
    advance: (ms) => {
      t += ms;
    },
  };
}

const host = 'https://api.example';

function run(breaker: ReturnType<typeof createCircuitBreaker>, outcomes: CallOutcomeKind[], target = host) {
  for (const outcome of outcomes) {
    breaker.enter(target);
    breaker.record(target, outcome);
  }
}

const times = (n: number, outcome: CallOutcomeKind) => Array.from({ length: n }, () => outcome);

describe('createCircuitBreaker', () => {
  it('CB-01 50% failures over 20 calls within 30 s opens the breaker; calls fail fast with a retry time', () => {
    const clock = manualClock();
    const breaker = createCircuitBreaker({ clock });
    for (let i = 0; i < 10; i++) {
      run(breaker, ['success', 'failure']);
      clock.advance(1_000);
    }
    expect(breaker.state(host)).toBe('open');
    // Opened by the 20th call, one second ago.
    expect(() => breaker.enter(host)).toThrow(
      expect.objectContaining({ code: 'circuit_open', details: { origin: host, retryAfterSeconds: 29 } }),
    );
  });

  it('CB-01 stays closed under 20 calls, under 50% failures, or when the failures are older than 30 s', () => {
    const clock = manualClock();
    const few = createCircuitBreaker({ clock });
    run(few, times(19, 'failure'));
    expect(few.state(host)).toBe('closed');

    const mostlyFine = createCircuitBreaker({ clock });
    run(mostlyFine, [...times(11, 'success'), ...times(9, 'failure')]);
    expect(mostlyFine.state(host)).toBe('closed');

    const old = createCircuitBreaker({ clock });
    run(old, times(15, 'failure'));
    clock.advance(31_000);
    run(old, [...times(5, 'failure'), ...times(5, 'success')]);
    expect(old.state(host)).toBe('closed');
  });

  it('CB-01 4xx answers (recorded as successes) and neutral outcomes never open the breaker', () => {
    const breaker = createCircuitBreaker({ clock: manualClock() });
    run(breaker, [...times(100, 'success'), ...times(100, 'neutral')]);
    expect(breaker.state(host)).toBe('closed');
  });

  it('CB-01 the breaker is per host', () => {
    const breaker = createCircuitBreaker({ clock: manualClock() });
    run(breaker, times(20, 'failure'));
    expect(breaker.state(host)).toBe('open');
    expect(() => breaker.enter('https://other.example')).not.toThrow();
  });

  it('after the open time one probe goes through; success closes, failure opens again', () => {
    const clock = manualClock();
    const breaker = createCircuitBreaker({ clock, openMs: 10_000 });
    run(breaker, times(20, 'failure'));
    clock.advance(9_500);
    expect(() => breaker.enter(host)).toThrow(expect.objectContaining({ code: 'circuit_open' }));
    clock.advance(500);
    breaker.enter(host);
    expect(breaker.state(host)).toBe('half-open');
    // While the probe runs, everyone else is refused.
    expect(() => breaker.enter(host)).toThrow(expect.objectContaining({ code: 'circuit_open' }));
    breaker.record(host, 'failure');
    expect(breaker.state(host)).toBe('open');
    clock.advance(10_000);
    breaker.enter(host);
    breaker.record(host, 'success');
    expect(breaker.state(host)).toBe('closed');
    // A fresh window: 19 new failures are not enough.
    run(breaker, times(19, 'failure'));
    expect(breaker.state(host)).toBe('closed');
  });

  it('CB-01 MT-08 (review finding 5a) each tenant and service has its own breaker on a host', () => {
    const clock = manualClock();
    const breaker = createCircuitBreaker({ clock });
    const tenantA = breakerScopeOf('a', 'api');
    const tenantB = breakerScopeOf('b', 'api');
    for (let i = 0; i < 20; i++) {
      breaker.enter(host, tenantA);
      breaker.record(host, 'failure', tenantA);
    }
    expect(breaker.state(host, tenantA)).toBe('open');
    expect(() => breaker.enter(host, tenantA)).toThrow(expect.objectContaining({ code: 'circuit_open' }));
    expect(breaker.state(host, tenantB)).toBe('closed');
    expect(() => breaker.enter(host, tenantB)).not.toThrow();
    expect(breaker.state(host, breakerScopeOf('a', 'other-service'))).toBe('closed');
  });
});
