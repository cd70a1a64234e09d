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

/**
 * One trivial query first, over a tiny result: the worker has started (seconds under tsx on a loaded machine, not
 * part of the budget) and the stored result is not parsed yet, so the budget below covers the whole evaluation.
 */
async function warm(handles: ResultHandles, owner: ResultOwner): Promise<void> {
  const tiny = (await handles.create(owner, { kind: 'json', text: '{"ready":true}' })).id;
  await handles.query(owner, tiny, 'ready');
}

/**
 * Runs `work` and measures the CPU time this process (the gateway's side) spent meanwhile: the evaluation happens
 * in a worker process, so it stays small; evaluated here, the query would burn CPU in this process until it ended.
 * CPU time, not a timer's lateness or the event loop's wall-clock activity, so a loaded machine does not count.
 */
async function withCpuWatch<T>(work: () => Promise<T>): Promise<{ outcome: T | unknown; ms: number; cpuMs: number }> {
  const before = process.cpuUsage();
  const started = performance.now();
  let outcome: T | unknown;
  try {
    outcome = await work();
  } catch (error) {
    outcome = error;
  }
  const ms = performance.now() - started;
  const used = process.cpuUsage(before);
  return { outcome, ms, cpuMs: (used.user + used.system) / 1000 };
}

function codeOf(outcome: unknown): string {
  return isGatehouseError(outcome) ? outcome.code : `no error (${JSON.stringify(outcome)?.slice(0, 80)})`;
}

describe('queryResult and pageResult under the query budget', () => {
  it('RS-02 (review finding 1) a nested map() query over a 2,000-item handle is refused within its budget', async () => {
    const { handles, contextOf } = setup({ timeoutSeconds: 1, maxHeapMb: 128 });
    const handle = await store(handles, tenantB);
    await warm(handles, tenantB);
    const heapBefore = process.memoryUsage().heapUsed;
    const run = await withCpuWatch(() => queryResult({ handle, expression: nestedMap }, contextOf(tenantB)));
    const heapGrowthMb = (process.memoryUsage().heapUsed - heapBefore) / 1024 / 1024;
    console.log(
      `RS-02 nested map(): ${codeOf(run.outcome)} after ${run.ms.toFixed(0)} ms, gateway CPU ${run.cpuMs.toFixed(0)} ms, main heap growth ${heapGrowthMb.toFixed(1)} MB`,
    );
    expect(codeOf(run.outcome)).toBe('query_budget_exceeded');
    expect(['time', 'memory']).toContain((run.outcome as { details: { budget: string } }).details.budget);
    expect(run.ms).toBeLessThan(3_000);
    expect(run.cpuMs).toBeLessThan(200);
    expect(heapGrowthMb).toBeLessThan(64);
  });

  it('RS-02 (review finding 1) twelve [@,@] doublings are refused within the budget without building the answer', async () => {
    const { handles, contextOf } = setup({ timeoutSeconds: 1 });
    const handle = await store(handles, tenantB);
    await warm(handles, tenantB);
    const heapBefore = process.memoryUsage().heapUsed;
    const run = await withCpuWatch(() => queryResult({ handle, expression: doubling }, contextOf(tenantB)));
    const heapGrowthMb = (process.memoryUsage().heapUsed - heapBefore) / 1024 / 1024;
    console.log(
      `RS-02 [@,@] x12: ${codeOf(run.outcome)} (${(run.outcome as { details?: { budget?: string } }).details?.budget}) after ${run.ms.toFixed(0)} ms, gateway CPU ${run.cpuMs.toFixed(0)} ms, main heap growth ${heapGrowthMb.toFixed(1)} MB`,
    );
    expect(codeOf(run.outcome)).toBe('query_budget_exceeded');
    expect(run.ms).toBeLessThan(3_000);
    expect(run.cpuMs).toBeLessThan(200);
    expect(heapGrowthMb).toBeLessThan(64);
  });

  it('RS-02 (review finding 1) the page tool path runs under the same budget', async () => {
    const { handles, contextOf } = setup({ timeoutSeconds: 1 });
    const handle = await store(handles, tenantB);
    for (const path of [nestedMap.replace(' | length(@)', ''), doubling]) {
      // After the first path, this waits for the replacement of the worker killed at its deadline.
      await warm(handles, tenantB);
      const run = await withCpuWatch(() => pageResult({ handle, path }, contextOf(tenantB)));
      console.log(`RS-02 page path ${path.slice(0, 24)}...: ${codeOf(run.outcome)} after ${run.ms.toFixed(0)} ms`);
      expect(codeOf(run.outcome)).toBe('query_budget_exceeded');
      expect(run.ms).toBeLessThan(3_000);
      expect(run.cpuMs).toBeLessThan(200);
    }
    // The worker that was stopped is replaced: the same handle still pages.
    const page = await pageResult({ handle, path: 'items', offset: 10, limit: 2 }, contextOf(tenantB));
    expect(page.structuredContent).toMatchObject({ offset: 10, count: 2, total: 2_000, nextOffset: 12 });
    expect((page.structuredContent as { items: { id: number }[] }).items.map((item) => item.id)).toEqual([10, 11]);
  });

  it('RS-02 a query that fills its worker heap before the deadline is refused as memory, and the pool recovers', async () => {
    const { handles, contextOf } = setup({ timeoutSeconds: 30, maxHeapMb: 32 });
    const handle = await store(handles, tenantB);
    await warm(handles, tenantB);
    const run = await withCpuWatch(() => queryResult({ handle, expression: nestedMap }, contextOf(tenantB)));
    console.log(
      `RS-02 32 MB heap: ${codeOf(run.outcome)} after ${run.ms.toFixed(0)} ms, gateway CPU ${run.cpuMs.toFixed(0)} ms`,
    );
    expect(codeOf(run.outcome)).toBe('query_budget_exceeded');
    expect((run.outcome as { details: unknown }).details).toEqual({ budget: 'memory', limit: 32 });
    expect(run.cpuMs).toBeLessThan(200);
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
    // B's worst query runs for its whole deadline: A answered while it still runs shows A never waited behind B
    // (with B on both workers, A would get one only when B's first query is stopped at its deadline). An order,
    // not a time: a 10 s deadline leaves a loaded machine room to answer A's one-item query.
    const { handles, contextOf } = setup({ timeoutSeconds: 10, workers: 2, perTenant: 1, queuePerTenant: 1 });
    const handleB = await store(handles, tenantB);
    const handleA = await store(handles, tenantA);
    // Warm both workers, so that A's query does not wait for a process to start.
    await Promise.all([
      queryResult({ handle: handleA, expression: 'length(items)' }, contextOf(tenantA)),
      queryResult({ handle: handleB, expression: 'length(items)' }, contextOf(tenantB)),
    ]);
    const settled: string[] = [];
    const worst = [1, 2, 3].map((n) =>
      queryResult({ handle: handleB, expression: nestedMap }, contextOf(tenantB))
        .catch((error) => error)
        .finally(() => settled.push(`B${n}`)),
    );
    const started = performance.now();
    const answer = await queryResult({ handle: handleA, expression: 'items[5].name' }, contextOf(tenantA));
    const aMs = performance.now() - started;
    settled.push('A');
    const codes = (await Promise.all(worst)).map(codeOf);
    console.log(`MT-08 tenant A's query took ${aMs.toFixed(0)} ms while B ran 3 worst queries: ${codes.join(', ')}`);
    expect(answer.structuredContent).toEqual({ result: 'item-5' });
    // Only B's third, refused at once (its queue of 1 is full), may come before A; B's first two end at the deadline.
    expect(settled.slice(0, settled.indexOf('A'))).not.toContain('B1');
    expect(settled.slice(0, settled.indexOf('A'))).not.toContain('B2');
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
