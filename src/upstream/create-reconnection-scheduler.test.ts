import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createReconnectionScheduler } from './create-reconnection-scheduler.ts';

describe('createReconnectionScheduler()', () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  /** Schedules a reopening asking `asked` ms; the stream it opens then lives `lived` ms. Returns the wait taken. */
  function reopen(scheduler: ReturnType<typeof createReconnectionScheduler>, asked: number, lived = 0): number {
    const before = Date.now();
    let opened = -1;
    scheduler.schedule(
      () => {
        opened = Date.now();
      },
      asked,
      0,
    );
    vi.advanceTimersToNextTimer();
    expect(opened).toBeGreaterThanOrEqual(0);
    const wait = opened - before;
    vi.advanceTimersByTime(lived);
    return wait;
  }

  it('doubles the wait while each stream ends within a second of opening, up to 30 s', () => {
    const scheduler = createReconnectionScheduler();
    const waits = Array.from({ length: 12 }, () => reopen(scheduler, 0));
    expect(waits).toEqual([100, 200, 400, 800, 1_600, 3_200, 6_400, 12_800, 25_600, 30_000, 30_000, 30_000]);
  });

  it('starts again from the wait asked once a stream lived a second or more', () => {
    const scheduler = createReconnectionScheduler();
    expect([reopen(scheduler, 0), reopen(scheduler, 0), reopen(scheduler, 0, 1_000)]).toEqual([100, 200, 400]);
    expect(reopen(scheduler, 0)).toBe(100);
    expect(reopen(scheduler, 0)).toBe(200);
    // Still churning: the longer of the wait asked and twice the last.
    expect(reopen(scheduler, 500)).toBe(500);
  });

  it("keeps a server's longer retry (past 30 s) as it asked, within what a timer holds", () => {
    const scheduler = createReconnectionScheduler();
    expect(reopen(scheduler, 60_000)).toBe(60_000);
    expect(reopen(scheduler, 60_000)).toBe(60_000);
  });

  it("sdk_path_polling_call_starved: resumes a request's answer stream after the wait asked each time (at least 100 ms), and leaves the standalone stream's backoff alone", () => {
    const scheduler = createReconnectionScheduler();
    const resumed: number[] = [];
    for (let i = 0; i < 5; i++) {
      const before = Date.now();
      scheduler.resume(() => resumed.push(Date.now() - before), 50, 0);
      vi.advanceTimersToNextTimer();
    }
    expect(resumed).toEqual([100, 100, 100, 100, 100]);
    expect([reopen(scheduler, 0), reopen(scheduler, 0)]).toEqual([100, 200]);
    const before = Date.now();
    scheduler.resume(() => resumed.push(Date.now() - before), 0, 0);
    vi.advanceTimersToNextTimer();
    expect(resumed.at(-1)).toBe(100);
    expect(reopen(scheduler, 0)).toBe(400);
  });

  it('cancelAll clears every reopening still waiting, not only the last one scheduled', () => {
    const scheduler = createReconnectionScheduler();
    const reopened: string[] = [];
    scheduler.schedule(() => reopened.push('standalone'), 0, 0);
    scheduler.schedule(() => reopened.push('standalone again'), 0, 0);
    scheduler.resume(() => reopened.push('answer'), 0, 0);
    scheduler.cancelAll();
    vi.advanceTimersByTime(60_000);
    expect(reopened).toEqual([]);
  });

  it("reconnection_timer_holds_process: a reopening waiting (up to a server's retry of 24.8 days) does not keep the process alive", () => {
    vi.useRealTimers();
    const timers = () => process.getActiveResourcesInfo().filter((resource) => resource === 'Timeout').length;
    const before = timers();
    const scheduler = createReconnectionScheduler();
    scheduler.schedule(() => {}, 2_147_483_647, 0);
    scheduler.resume(() => {}, 30_000, 0);
    expect(timers()).toBe(before);
    scheduler.cancelAll();
  });
});
