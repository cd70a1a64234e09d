import { type ChildProcess, fork } from 'node:child_process';
import { setPriority } from 'node:os';
import { type Config, GatehouseError } from '../core/index.ts';
import { type QueryJob, type QueryReply, workerNice } from './_query-protocol.ts';

/** The budget of one evaluation (`resultHandles.query` of the config). */
export type QueryLimits = Config['resultHandles']['query'];

export interface QueryRequest {
  /** Whose budget the evaluation counts against (at most `perTenant` running at once). */
  readonly tenant: string;
  /** A stable, non-secret key of the stored result (workers keep recent results parsed under it). */
  readonly key: string;
  /** The stored JSON text. */
  readonly text: string;
  readonly expression: string;
  /** Page mode: the expression must select an array; only `[offset, offset + limit)` of it comes back. */
  readonly page?: { readonly offset: number; readonly limit: number };
}

export type QueryAnswer =
  | { readonly kind: 'value'; readonly value: unknown }
  | { readonly kind: 'page'; readonly total: number; readonly items: unknown[] }
  | { readonly kind: 'not_array' };

export interface QueryEvaluator {
  /**
   * Evaluates `request.expression` over the stored JSON in a worker process. Throws `query_budget_exceeded`
   * (details `budget`: `time`, `memory`, `output` or `length`, and `limit`) when the evaluation goes over its
   * budget, `rate_limited` (details `retryAfterSeconds`) when the tenant already has `perTenant` running and
   * `queuePerTenant` waiting, and `invalid_arguments` for an expression that does not parse or apply.
   */
  evaluate(request: QueryRequest): Promise<QueryAnswer>;
  /** Stops every worker; pending evaluations fail with `internal`. */
  close(): Promise<void>;
}

export interface QueryEvaluatorOptions {
  /**
   * Niceness of the worker processes and their threads; default 19, the lowest priority. Tests whose subject is
   * not the worker's priority set 0: at 19 a worker barely runs beside a busy test suite, and its start alone
   * took longer than a unit test's 20 s there.
   */
  readonly workerNice?: number;
}

export const defaultQueryLimits: QueryLimits = Object.freeze({
  timeoutSeconds: 1,
  maxHeapMb: 128,
  maxOutputBytes: 64 * 1024,
  maxExpressionLength: 2_000,
  workers: 2,
  perTenant: 1,
  queuePerTenant: 4,
});

interface Job {
  readonly request: QueryRequest;
  readonly resolve: (answer: QueryAnswer) => void;
  readonly reject: (error: unknown) => void;
}

interface Slot {
  readonly worker: ChildProcess;
  /** Keys whose parsed value this worker probably holds (it answers `miss` when it does not). */
  readonly known: Set<string>;
  /** False until the worker has loaded: a job's deadline never includes the start of a process. */
  ready: boolean;
  job: Job | undefined;
  timer: NodeJS.Timeout | undefined;
}

/** Keys remembered per worker; the worker itself evicts by size, and a miss costs one resend of the text. */
const knownMax = 16;

/**
 * JMESPath evaluation that no expression escapes (RS-02): a small pool of long-lived worker processes, each with
 * a capped heap and the lowest CPU priority, killed and replaced at the deadline or when its heap is exhausted,
 * so that the event loop of the gateway only ever sends the stored text and parses an answer of bounded size.
 * Processes, not worker threads: threads share V8's garbage-collection helper threads with the gateway, and a
 * query that allocates hard then holds up the gateway's own collections (measured: tenant A's p50 49 -> 259 ms).
 * One tenant uses at most `perTenant` workers; waiting jobs are taken round-robin across tenants (MT-08).
 */
export function createQueryEvaluator(
  limits: QueryLimits = defaultQueryLimits,
  options: QueryEvaluatorOptions = {},
): QueryEvaluator {
  const nice = options.workerNice ?? workerNice;
  const timeoutMs = limits.timeoutSeconds * 1000;
  const slots: Slot[] = [];
  const waiting = new Map<string, Job[]>();
  const running = new Map<string, number>();
  let nextId = 1;
  let closed = false;

  function spawn(): Slot {
    const worker = startWorker(limits.maxHeapMb, nice);
    worker.unref();
    worker.channel?.unref();
    const slot: Slot = { worker, known: new Set(), ready: false, job: undefined, timer: undefined };
    worker.on('message', (reply: QueryReply) => onReply(slot, reply));
    worker.on('error', (error) =>
      fail(slot, new GatehouseError('internal', 'The query worker failed', {}, { cause: error })),
    );
    worker.on('exit', (code, signal) => {
      // V8 aborts a process whose heap is exhausted (SIGABRT, or exit code 134 through a shell).
      fail(
        slot,
        signal === 'SIGABRT' || code === 134
          ? overBudget('memory', limits.maxHeapMb, `The query needed more than ${limits.maxHeapMb} MB of memory`)
          : new GatehouseError('internal', 'The query worker stopped'),
      );
    });
    slots.push(slot);
    return slot;
  }

  /** Ends `slot` (its worker is gone or going), fails its job, and starts the next waiting one. */
  function fail(slot: Slot, error: GatehouseError): void {
    const index = slots.indexOf(slot);
    if (index < 0) return;
    slots.splice(index, 1);
    clearTimeout(slot.timer);
    const job = slot.job;
    slot.job = undefined;
    slot.worker.kill('SIGKILL');
    if (job !== undefined) {
      finish(job.request.tenant);
      job.reject(error);
    }
    if (!slot.ready) {
      // A process that cannot even load would be restarted forever: refuse what waits instead.
      for (const queue of waiting.values()) for (const waiter of queue) waiter.reject(error);
      waiting.clear();
      return;
    }
    // The replacement starts now, so that the next query does not wait for a process to load.
    if (!closed && job !== undefined) spawn();
    dispatch();
  }

  function onReply(slot: Slot, reply: QueryReply): void {
    if (reply.kind === 'ready') {
      slot.ready = true;
      dispatch();
      return;
    }
    const job = slot.job;
    if (job === undefined || reply.id !== currentId.get(slot)) return;
    if (reply.kind === 'miss') {
      slot.known.delete(job.request.key);
      send(slot, job, true);
      return;
    }
    clearTimeout(slot.timer);
    slot.job = undefined;
    finish(job.request.tenant);
    try {
      job.resolve(toAnswer(reply, job.request, limits));
    } catch (error) {
      job.reject(error);
    }
    dispatch();
  }

  const currentId = new WeakMap<Slot, number>();

  function send(slot: Slot, job: Job, withText: boolean): void {
    const { request } = job;
    const id = nextId++;
    currentId.set(slot, id);
    const message: QueryJob = {
      id,
      key: request.key,
      expression: request.expression,
      maxOutputBytes: limits.maxOutputBytes,
      // A quarter of the heap for parsed results (~3 bytes of heap per character of JSON text), the rest for evaluating.
      cacheChars: Math.floor((limits.maxHeapMb * 1024 * 1024) / 4 / 3),
      ...(withText ? { text: request.text } : {}),
      ...(request.page === undefined ? {} : { page: request.page }),
    };
    if (withText) {
      slot.known.delete(request.key);
      slot.known.add(request.key);
      if (slot.known.size > knownMax) slot.known.delete(slot.known.values().next().value as string);
    }
    slot.worker.send(message);
  }

  function start(slot: Slot, job: Job): void {
    slot.job = job;
    running.set(job.request.tenant, (running.get(job.request.tenant) ?? 0) + 1);
    slot.timer = setTimeout(() => {
      fail(slot, overBudget('time', timeoutMs, `The query ran longer than ${timeoutMs} ms`));
    }, timeoutMs);
    send(slot, job, !slot.known.has(job.request.key));
  }

  function finish(tenant: string): void {
    const count = (running.get(tenant) ?? 1) - 1;
    if (count <= 0) running.delete(tenant);
    else running.set(tenant, count);
  }

  /** Starts waiting jobs on idle workers, one tenant after the other, never beyond a tenant's `perTenant`. */
  function dispatch(): void {
    if (closed) return;
    startWaiting();
    // Workers keep the process alive only while someone waits for them.
    for (const slot of slots) {
      if (slot.job !== undefined || (!slot.ready && waiting.size > 0)) slot.worker.channel?.ref();
      else slot.worker.channel?.unref();
    }
  }

  function startWaiting(): void {
    while (true) {
      const slot = slots.find((s) => s.ready && s.job === undefined);
      if (slot === undefined) {
        if (waiting.size > 0 && slots.length < limits.workers) spawn();
        return;
      }
      const tenant = [...waiting.keys()].find((t) => (running.get(t) ?? 0) < limits.perTenant);
      if (tenant === undefined) return;
      const queue = waiting.get(tenant) as Job[];
      const job = queue.shift() as Job;
      // Round-robin: the tenant goes to the back of the order once served.
      waiting.delete(tenant);
      if (queue.length > 0) waiting.set(tenant, queue);
      start(slot, job);
    }
  }

  return {
    evaluate(request) {
      if (closed) return Promise.reject(new GatehouseError('internal', 'The query evaluator is closed'));
      if (request.expression.length > limits.maxExpressionLength) {
        return Promise.reject(
          overBudget(
            'length',
            limits.maxExpressionLength,
            `The expression is longer than ${limits.maxExpressionLength} characters`,
          ),
        );
      }
      const queued = waiting.get(request.tenant)?.length ?? 0;
      if ((running.get(request.tenant) ?? 0) >= limits.perTenant && queued >= limits.queuePerTenant) {
        const retryAfterSeconds = Math.max(1, Math.ceil(limits.timeoutSeconds));
        return Promise.reject(
          new GatehouseError(
            'rate_limited',
            `Too many queries of this tenant at once (${limits.perTenant} running, ${limits.queuePerTenant} waiting); retry in ${retryAfterSeconds} s`,
            { retryAfterSeconds, limit: limits.perTenant },
          ),
        );
      }
      return new Promise<QueryAnswer>((resolve, reject) => {
        const queue = waiting.get(request.tenant) ?? [];
        queue.push({ request, resolve, reject });
        waiting.set(request.tenant, queue);
        dispatch();
      });
    },
    async close() {
      closed = true;
      for (const queue of waiting.values()) {
        for (const job of queue) job.reject(new GatehouseError('internal', 'The query evaluator is closed'));
      }
      waiting.clear();
      await Promise.all([...slots].map(async (slot) => fail(slot, new GatehouseError('internal', 'Closed'))));
    },
  };
}

function toAnswer(reply: QueryReply, request: QueryRequest, limits: QueryLimits): QueryAnswer {
  switch (reply.kind) {
    case 'value':
      return { kind: 'value', value: JSON.parse(reply.json) as unknown };
    case 'page':
      return { kind: 'page', total: reply.total, items: JSON.parse(reply.json) as unknown[] };
    case 'not_array':
      return { kind: 'not_array' };
    case 'output':
      throw overBudget(
        'output',
        limits.maxOutputBytes,
        `The answer is larger than ${limits.maxOutputBytes} bytes of JSON; select less, or page it`,
      );
    case 'invalid':
      throw new GatehouseError('invalid_arguments', `Invalid JMESPath expression: ${reply.message}`, {
        argument: request.page === undefined ? 'expression' : 'path',
      });
    case 'miss':
    case 'ready':
      throw new GatehouseError('internal', 'The query worker lost the result');
  }
}

function overBudget(budget: 'time' | 'memory' | 'output' | 'length', limit: number, message: string): GatehouseError {
  return new GatehouseError('query_budget_exceeded', `${message} (the ${budget} budget of a query)`, {
    budget,
    limit,
  });
}

/**
 * The worker runs the same file kind as this module: `.js` once built with tsc, `.ts` under tsx and vitest,
 * where Node loads TypeScript through tsx. Its main thread gets the lowest CPU priority at once (threads it
 * starts later inherit it), and the worker lowers the threads that already exist (Linux; skipped elsewhere).
 */
function startWorker(maxHeapMb: number, nice: number): ChildProcess {
  const file = new URL(`./_query-worker${import.meta.url.endsWith('.ts') ? '.ts' : '.js'}`, import.meta.url);
  const execArgv = [`--max-old-space-size=${maxHeapMb}`, '--max-semi-space-size=8'];
  if (file.pathname.endsWith('.ts')) execArgv.push('--import', import.meta.resolve('tsx'));
  const worker = fork(file, [String(nice)], {
    execArgv,
    // The process env carries the gateway's secrets; a query needs none of it.
    env: { NODE_ENV: process.env['NODE_ENV'] ?? 'production' },
    stdio: ['ignore', 'ignore', 'ignore', 'ipc'],
    serialization: 'advanced',
  });
  try {
    if (worker.pid !== undefined) setPriority(worker.pid, nice);
  } catch {
    // Not permitted here: the deadline and the heap cap still bound the query.
  }
  return worker;
}
