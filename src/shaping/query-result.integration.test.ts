import { readdirSync, readFileSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { type Clock, isGatehouseError } from '../core/index.ts';
import { createMemoryResultStore } from './create-memory-result-store.ts';
import { createQueryEvaluator, defaultQueryLimits, type QueryLimits } from './create-query-evaluator.ts';
import { createResultHandles, type ResultHandles, type ResultOwner } from './create-result-handles.ts';
import { pageResult } from './page-result.ts';
import { queryResult } from './query-result.ts';

const clock: Clock = { now: () => 1_700_000_000_000, monotonic: () => performance.now() };
const tenantB: ResultOwner = { tenant: 'tenant-b', subject: 'mallory', clientKey: 'key-b' };
const tenantA: ResultOwner = { tenant: 'tenant-a', subject: 'alice', clientKey: 'key-a' };

/** The review's expressions (issue 17, finding 1), exactly as sent. */
const nestedMap = 'map(&$.items[].id, map(&$.items[].id, items)[])[] | length(@)';
const doubling = Array.from({ length: 12 }, () => '[@,@]').join('|');

/** A result of ~2,000 items, like the one the review stored as tenant B. */
const itemsText = JSON.stringify({
  total_count: 2_000,
  items: Array.from({ length: 2_000 }, (_, i) => ({
    id: i,
    name: `item-${i}`,
    owner: { login: `user${i % 40}`, id: i % 40 },
    labels: ['bug', `area-${i % 7}`],
  })),
});

const open: ResultHandles[] = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((handles) => handles.close()));
});

function setup(query: Partial<QueryLimits> = {}) {
  const handles = createResultHandles({
    store: createMemoryResultStore({ clock, maxBytes: 256 * 1024 * 1024 }),
    clock,
    query: { ...defaultQueryLimits, ...query },
  });
  open.push(handles);
  const contextOf = (owner: ResultOwner) => ({ budget: 2_000, owner, handles, ttlMs: 60_000 });
  return { handles, contextOf };
}

async function store(handles: ResultHandles, owner: ResultOwner, text = itemsText): Promise<string> {
  return (await handles.create(owner, { kind: 'json', text })).id;
}

/** One ordinary query first: a worker's start (seconds under tsx on a loaded machine) is not part of the budget. */
async function warm(handles: ResultHandles, owner: ResultOwner, handle: string): Promise<void> {
  await handles.query(owner, handle, 'length(items)');
}

/** Runs `work` while a 10 ms timer measures how late the event loop gets to it (the longest stall). */
async function withLoopWatch<T>(
  work: () => Promise<T>,
): Promise<{ outcome: T | unknown; ms: number; stallMs: number }> {
  let last = performance.now();
  let stallMs = 0;
  const timer = setInterval(() => {
    const now = performance.now();
    stallMs = Math.max(stallMs, now - last - 10);
    last = now;
  }, 10);
  const started = performance.now();
  let outcome: T | unknown;
  try {
    outcome = await work();
  } catch (error) {
    outcome = error;
  }
  const ms = performance.now() - started;
  clearInterval(timer);
  return { outcome, ms, stallMs };
}

function codeOf(outcome: unknown): string {
  return isGatehouseError(outcome) ? outcome.code : `no error (${JSON.stringify(outcome)?.slice(0, 80)})`;
}

describe('queryResult and pageResult under the query budget', () => {
  it('RS-02 (review finding 1) a nested map() query over a 2,000-item handle is refused within its budget', async () => {
    const { handles, contextOf } = setup({ timeoutSeconds: 1, maxHeapMb: 128 });
    const handle = await store(handles, tenantB);
    await warm(handles, tenantB, handle);
    const heapBefore = process.memoryUsage().heapUsed;
    const run = await withLoopWatch(() => queryResult({ handle, expression: nestedMap }, contextOf(tenantB)));
    const heapGrowthMb = (process.memoryUsage().heapUsed - heapBefore) / 1024 / 1024;
    console.log(
      `RS-02 nested map(): ${codeOf(run.outcome)} after ${run.ms.toFixed(0)} ms, longest event-loop stall ${run.stallMs.toFixed(0)} ms, main heap growth ${heapGrowthMb.toFixed(1)} MB`,
    );
    expect(codeOf(run.outcome)).toBe('query_budget_exceeded');
    expect(['time', 'memory']).toContain((run.outcome as { details: { budget: string } }).details.budget);
    expect(run.ms).toBeLessThan(3_000);
    expect(run.stallMs).toBeLessThan(250);
    expect(heapGrowthMb).toBeLessThan(64);
  });

  it('RS-02 (review finding 1) twelve [@,@] doublings are refused within the budget without building the answer', async () => {
    const { handles, contextOf } = setup({ timeoutSeconds: 1 });
    const handle = await store(handles, tenantB);
    await warm(handles, tenantB, handle);
    const heapBefore = process.memoryUsage().heapUsed;
    const run = await withLoopWatch(() => queryResult({ handle, expression: doubling }, contextOf(tenantB)));
    const heapGrowthMb = (process.memoryUsage().heapUsed - heapBefore) / 1024 / 1024;
    console.log(
      `RS-02 [@,@] x12: ${codeOf(run.outcome)} (${(run.outcome as { details?: { budget?: string } }).details?.budget}) after ${run.ms.toFixed(0)} ms, longest stall ${run.stallMs.toFixed(0)} ms, main heap growth ${heapGrowthMb.toFixed(1)} MB`,
    );
    expect(codeOf(run.outcome)).toBe('query_budget_exceeded');
    expect(run.ms).toBeLessThan(3_000);
    expect(run.stallMs).toBeLessThan(250);
    expect(heapGrowthMb).toBeLessThan(64);
  });

  it('RS-02 (review finding 1) the page tool path runs under the same budget', async () => {
    const { handles, contextOf } = setup({ timeoutSeconds: 1 });
    const handle = await store(handles, tenantB);
    for (const path of [nestedMap.replace(' | length(@)', ''), doubling]) {
      // After the first path, this waits for the replacement of the worker killed at its deadline.
      await warm(handles, tenantB, handle);
      const run = await withLoopWatch(() => pageResult({ handle, path }, contextOf(tenantB)));
      console.log(`RS-02 page path ${path.slice(0, 24)}...: ${codeOf(run.outcome)} after ${run.ms.toFixed(0)} ms`);
      expect(codeOf(run.outcome)).toBe('query_budget_exceeded');
      expect(run.ms).toBeLessThan(3_000);
      expect(run.stallMs).toBeLessThan(250);
    }
    // The worker that was stopped is replaced: the same handle still pages.
    const page = await pageResult({ handle, path: 'items', offset: 10, limit: 2 }, contextOf(tenantB));
    expect(page.structuredContent).toMatchObject({ offset: 10, count: 2, total: 2_000, nextOffset: 12 });
    expect((page.structuredContent as { items: { id: number }[] }).items.map((item) => item.id)).toEqual([10, 11]);
  });

  it('RS-02 a query that fills its worker heap before the deadline is refused as memory, and the pool recovers', async () => {
    const { handles, contextOf } = setup({ timeoutSeconds: 30, maxHeapMb: 32 });
    const handle = await store(handles, tenantB);
    await warm(handles, tenantB, handle);
    const run = await withLoopWatch(() => queryResult({ handle, expression: nestedMap }, contextOf(tenantB)));
    console.log(
      `RS-02 32 MB heap: ${codeOf(run.outcome)} after ${run.ms.toFixed(0)} ms, longest stall ${run.stallMs.toFixed(0)} ms`,
    );
    expect(codeOf(run.outcome)).toBe('query_budget_exceeded');
    expect((run.outcome as { details: unknown }).details).toEqual({ budget: 'memory', limit: 32 });
    expect(run.stallMs).toBeLessThan(250);
    const after = await queryResult({ handle, expression: 'items[7].id' }, contextOf(tenantB));
    expect(after.structuredContent).toEqual({ result: 7 });
  });

  it('RS-02 an answer over maxOutputBytes is refused as output, an expression over maxExpressionLength as length', async () => {
    const { handles, contextOf } = setup({ maxOutputBytes: 64 * 1024, maxExpressionLength: 100 });
    const handle = await store(handles, tenantB);
    const whole = await queryResult({ handle, expression: 'items' }, contextOf(tenantB)).catch((error) => error);
    expect(codeOf(whole)).toBe('query_budget_exceeded');
    expect(whole.details).toEqual({ budget: 'output', limit: 64 * 1024 });
    const long = `items[?name=='${'x'.repeat(100)}']`;
    const tooLong = await queryResult({ handle, expression: long }, contextOf(tenantB)).catch((error) => error);
    expect(tooLong.details).toEqual({ budget: 'length', limit: 100 });
    // Within both budgets, the same handle answers as before.
    const some = await queryResult({ handle, expression: 'items[0:3].id' }, contextOf(tenantB));
    expect(some.structuredContent).toEqual({ result: [0, 1, 2] });
  });

  it('RS-02 an expression that does not parse is still invalid_arguments, and a text result is refused as before', async () => {
    const { handles, contextOf } = setup();
    const handle = await store(handles, tenantB);
    const bad = await queryResult({ handle, expression: 'items[?' }, contextOf(tenantB)).catch((error) => error);
    expect(codeOf(bad)).toBe('invalid_arguments');
    const text = (await handles.create(tenantB, { kind: 'text', text: 'plain words' })).id;
    const onText = await queryResult({ handle: text, expression: '@' }, contextOf(tenantB)).catch((error) => error);
    expect(codeOf(onText)).toBe('invalid_arguments');
    const notArray = await pageResult({ handle, path: 'total_count' }, contextOf(tenantB)).catch((error) => error);
    expect(codeOf(notArray)).toBe('invalid_arguments');
  });

  it('MT-08 one tenant holds at most perTenant workers: its extra queries wait or are refused, another tenant is served', async () => {
    // B's worst query runs for the whole 3 s deadline: A answering well inside it shows A never waited behind B.
    const { handles, contextOf } = setup({ timeoutSeconds: 3, workers: 2, perTenant: 1, queuePerTenant: 1 });
    const handleB = await store(handles, tenantB);
    const handleA = await store(handles, tenantA);
    // Warm both workers, so that the timing below is not a thread start.
    await Promise.all([
      queryResult({ handle: handleA, expression: 'length(items)' }, contextOf(tenantA)),
      queryResult({ handle: handleB, expression: 'length(items)' }, contextOf(tenantB)),
    ]);
    const worst = [1, 2, 3].map(() =>
      queryResult({ handle: handleB, expression: nestedMap }, contextOf(tenantB)).catch((error) => error),
    );
    const started = performance.now();
    const answer = await queryResult({ handle: handleA, expression: 'items[5].name' }, contextOf(tenantA));
    const aMs = performance.now() - started;
    const codes = (await Promise.all(worst)).map(codeOf);
    console.log(`MT-08 tenant A's query took ${aMs.toFixed(0)} ms while B ran 3 worst queries: ${codes.join(', ')}`);
    expect(answer.structuredContent).toEqual({ result: 'item-5' });
    expect(aMs).toBeLessThan(1_500);
    // One runs, one waits its turn, the third is refused with a retry hint.
    expect(codes.sort()).toEqual(['query_budget_exceeded', 'query_budget_exceeded', 'rate_limited']);
  });
});

/** The niceness of every thread of this process's query workers (Linux /proc). */
function workerThreadNices(): number[] {
  const nices: number[] = [];
  for (const pid of readdirSync('/proc').filter((name) => /^\d+$/.test(name))) {
    try {
      if (!readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('_query-worker')) continue;
      const ppid = Number(readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.split(' ')[1]);
      if (ppid !== process.pid) continue;
      for (const tid of readdirSync(`/proc/${pid}/task`)) {
        // After "pid (comm) ": state is field 0, nice field 16.
        nices.push(Number(readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8').split(') ')[1]?.split(' ')[16]));
      }
    } catch {
      // The process ended while being read.
    }
  }
  return nices;
}

describe.runIf(process.platform === 'linux')('query worker priority', () => {
  it('query workers and all their threads run at nice 19 by default; tests may ask for another priority', async () => {
    const request = { tenant: 't', key: 'k', text: '{"a":1}', expression: 'a' };
    for (const [options, nice] of [
      [{}, 19],
      [{ workerNice: 0 }, 0],
    ] as const) {
      const evaluator = createQueryEvaluator({ ...defaultQueryLimits, timeoutSeconds: 60 }, options);
      try {
        expect(await evaluator.evaluate(request)).toEqual({ kind: 'value', value: 1 });
        const nices = workerThreadNices();
        expect(nices.length).toBeGreaterThan(0);
        expect(new Set(nices)).toEqual(new Set([nice]));
      } finally {
        await evaluator.close();
      }
    }
  });
});
