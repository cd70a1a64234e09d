/**
 * Worker-process entry of `createQueryEvaluator` (RS-02): evaluates one JMESPath expression over a stored JSON
 * result, inside a process whose heap is capped and which the gateway kills at its deadline. Nothing
 * here is trusted to stop by itself; this file only keeps the answer within `maxOutputBytes` and caches parsed
 * handles so that a 10 MB result is not sent and parsed again for every query.
 */
import { readdirSync } from 'node:fs';
import { setPriority } from 'node:os';
import { type JSONValue, search } from '@jmespath-community/jmespath';
import { type QueryJob, type QueryReply, workerNice } from './_query-protocol.ts';

const send = process.send?.bind(process);
if (send === undefined) throw new Error('_query-worker.ts runs only as a child process with an IPC channel');

// Every thread that exists now (V8's helpers among them) at the evaluator's priority (its argument, the lowest by
// default); the gateway set the main one.
const nice = Number(process.argv[2] ?? workerNice);
try {
  for (const tid of readdirSync('/proc/self/task')) setPriority(Number(tid), nice);
} catch {
  // Not Linux, or not permitted: the deadline and the heap cap still bound the query.
}

/** Parsed handles by cache key, oldest first; their stored text length is summed against `cacheChars`. */
const parsed = new Map<string, { value: unknown; chars: number }>();
let cachedChars = 0;

process.on('message', (job: QueryJob) => {
  send(run(job));
});
// The gateway is gone: nothing will ask again.
process.on('disconnect', () => process.exit(0));
send({ id: 0, kind: 'ready' } satisfies QueryReply);

function run(job: QueryJob): QueryReply {
  let value: unknown;
  const hit = parsed.get(job.key);
  if (hit !== undefined) {
    value = hit.value;
  } else if (job.text === undefined) {
    return { id: job.id, kind: 'miss' };
  } else {
    value = JSON.parse(job.text);
    remember(job.key, value, job.text.length, job.cacheChars);
  }
  let result: unknown;
  try {
    result = search(value as JSONValue, job.expression);
  } catch (error) {
    return { id: job.id, kind: 'invalid', message: String((error as Error).message).slice(0, 200) };
  }
  if (job.page !== undefined) {
    if (!Array.isArray(result)) return { id: job.id, kind: 'not_array' };
    // As many items as fit the output budget (the page itself then keeps fewer, to fit the token budget).
    const parts: string[] = [];
    let room = job.maxOutputBytes - 2;
    const end = Math.min(result.length, job.page.offset + job.page.limit);
    for (let i = job.page.offset; i < end; i++) {
      const json = toJsonWithin(result[i], room);
      if (json === undefined) break;
      parts.push(json);
      room -= Buffer.byteLength(json) + 1;
    }
    if (parts.length === 0 && job.page.offset < end) return { id: job.id, kind: 'output' };
    return { id: job.id, kind: 'page', total: result.length, json: `[${parts.join(',')}]` };
  }
  const json = toJsonWithin(result, job.maxOutputBytes);
  return json === undefined ? { id: job.id, kind: 'output' } : { id: job.id, kind: 'value', json };
}

function remember(key: string, value: unknown, chars: number, cacheChars: number): void {
  if (chars > cacheChars) return;
  parsed.set(key, { value, chars });
  cachedChars += chars;
  for (const [oldKey, entry] of parsed) {
    if (cachedChars <= cacheChars) break;
    parsed.delete(oldKey);
    cachedChars -= entry.chars;
  }
}

/**
 * Whether the JSON text of `value` is surely longer than `limit` characters, found without building it: a
 * result may hold the same object thousands of times (`[@,@]|[@,@]|...`), which costs nothing in memory until
 * it is serialized. Counts a lower bound (escapes and number digits beyond one are not counted) and stops at
 * the first excess, so the text built after a pass is at most a few times `limit`, then measured exactly.
 */
function exceeds(value: unknown, limit: number): boolean {
  let size = 0;
  const stack: unknown[] = [value];
  while (stack.length > 0) {
    const next = stack.pop();
    if (typeof next === 'string') size += next.length + 2;
    else if (next === null || typeof next === 'boolean') size += 4;
    else if (typeof next !== 'object') size += 1;
    else if (Array.isArray(next)) {
      size += 1 + Math.max(1, next.length);
      for (const item of next) stack.push(item);
    } else {
      size += 1;
      for (const key in next) {
        size += key.length + 4;
        stack.push((next as Record<string, unknown>)[key]);
      }
    }
    if (size > limit) return true;
  }
  return false;
}

/** The JSON text of `value` when its UTF-8 size is within `limit` bytes, else undefined. */
function toJsonWithin(value: unknown, limit: number): string | undefined {
  if (exceeds(value, limit)) return undefined;
  const json = JSON.stringify(value ?? null);
  return Buffer.byteLength(json) <= limit ? json : undefined;
}
