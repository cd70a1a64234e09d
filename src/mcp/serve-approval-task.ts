import type { ServerResponse } from 'node:http';
import { PROTOCOL_VERSION_META_KEY, RELATED_TASK_META_KEY } from '@modelcontextprotocol/server';
import { continueTrace } from '../audit/index.ts';
import { isPlainObject, toGatehouseError } from '../core/index.ts';
import type { ApprovalTasks, ApprovalTaskView, Caller } from '../gateway/index.ts';
import { toCallToolResult, toUnknownToolMessage } from './to-call-tool-result.ts';

/**
 * A request of the MCP tasks utility (protocol 2025-11-25): a `tools/call` carrying `params.task` (the client asks
 * for a task), or `tasks/get`, `tasks/result`, `tasks/cancel`. Requests of the 2026-07-28 era (their `_meta` names a
 * protocol version) are not these: that era moved tasks to an extension this endpoint does not serve yet.
 */
export type TaskRequest =
  | {
      readonly id: string | number;
      readonly method: 'tools/call';
      readonly name: string;
      readonly args: unknown;
      readonly meta?: Readonly<Record<string, unknown>>;
    }
  | {
      readonly id: string | number;
      readonly method: 'tasks/get' | 'tasks/result' | 'tasks/cancel';
      readonly taskId: string;
    };

const taskMethods: ReadonlySet<string> = new Set(['tasks/get', 'tasks/result', 'tasks/cancel']);

export function readTaskRequest(body: unknown): TaskRequest | undefined {
  if (!isPlainObject(body) || body['jsonrpc'] !== '2.0' || typeof body['method'] !== 'string') return undefined;
  const id = body['id'];
  if (typeof id !== 'string' && !Number.isSafeInteger(id)) return undefined;
  const params = body['params'];
  if (!isPlainObject(params)) return undefined;
  const meta = params['_meta'];
  if (meta !== undefined && (!isPlainObject(meta) || PROTOCOL_VERSION_META_KEY in meta)) return undefined;
  const method = body['method'];
  if (method === 'tools/call') {
    if (!isPlainObject(params['task']) || typeof params['name'] !== 'string') return undefined;
    return {
      id: id as string | number,
      method,
      name: params['name'],
      args: params['arguments'] ?? {},
      ...(meta === undefined ? {} : { meta: meta as Record<string, unknown> }),
    };
  }
  if (!taskMethods.has(method) || typeof params['taskId'] !== 'string') return undefined;
  return { id: id as string | number, method: method as 'tasks/get', taskId: params['taskId'] };
}

/** JSON-RPC invalid params: the spec's answer for an unknown task id and for cancelling a task that has ended. */
const invalidParams = -32602;

/**
 * Answers one task request as JSON: `tools/call` with `{ task }` (`CreateTaskResult`), `tasks/get` and
 * `tasks/cancel` with the task, `tasks/result` (which waits until the task has ended) with the call's
 * `CallToolResult` and the related-task `_meta`. Another caller's task id is answered like an unknown one.
 */
export async function serveTaskRequest(
  tasks: ApprovalTasks,
  caller: Caller,
  request: TaskRequest,
  exchange: { readonly res: ServerResponse; readonly requestId: string; readonly traceparent?: unknown },
): Promise<void> {
  const { res } = exchange;
  const abort = new AbortController();
  const onClose = () => {
    if (!res.writableFinished) abort.abort();
  };
  res.once('close', onClose);
  let message: Record<string, unknown>;
  try {
    message = { result: await answer(tasks, caller, request, exchange, abort.signal) };
  } catch (thrown) {
    const error = toGatehouseError(thrown);
    if (error.code === 'tool_not_found' && request.method === 'tools/call') {
      message = { error: { code: invalidParams, message: toUnknownToolMessage(request.name, error) } };
    } else if (error.code === 'not_found' || error.code === 'invalid_request') {
      message = { error: { code: invalidParams, message: error.message } };
    } else {
      message = { error: { code: -32603, message: error.message } };
    }
  } finally {
    res.off('close', onClose);
  }
  if (res.destroyed) return;
  const text = JSON.stringify({ jsonrpc: '2.0', id: request.id, ...message });
  res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

async function answer(
  tasks: ApprovalTasks,
  caller: Caller,
  request: TaskRequest,
  exchange: { readonly requestId: string; readonly traceparent?: unknown },
  signal: AbortSignal,
): Promise<Record<string, unknown>> {
  switch (request.method) {
    case 'tools/call': {
      const traceparent = request.meta?.['traceparent'] ?? exchange.traceparent;
      const task = await continueTrace(traceparent, () =>
        tasks.start(caller, request.name, request.args, exchange.requestId),
      );
      return { task: toTask(task) };
    }
    case 'tasks/get':
      return toTask(await tasks.get(caller, request.taskId));
    case 'tasks/cancel':
      return toTask(await tasks.cancel(caller, request.taskId));
    case 'tasks/result': {
      const { outcome } = await tasks.result(caller, request.taskId, signal);
      const result = toCallToolResult(outcome);
      return { ...result, _meta: { ...result._meta, [RELATED_TASK_META_KEY]: { taskId: request.taskId } } };
    }
  }
}

/** The MCP `Task` of 2025-11-25. */
function toTask(view: ApprovalTaskView): Record<string, unknown> {
  return {
    taskId: view.id,
    status: view.status,
    statusMessage: view.statusMessage,
    createdAt: view.createdAt,
    lastUpdatedAt: view.updatedAt,
    ttl: view.ttlMs,
    pollInterval: view.pollIntervalMs,
  };
}
