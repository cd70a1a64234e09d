import { GatehouseError } from '../core/index.ts';
import {
  pageResult,
  queryResult,
  type ResultHandles,
  type ResultOwner,
  type ShapedResult,
  searchToolIndexes,
  shapeJsonValue,
  type ToolMatchReason,
} from '../shaping/index.ts';
import type { ToolsetMeta } from './build-toolset-meta.ts';
import type { CallContext } from './call-context.ts';

/** The arguments of `gatehouse_call_tool`, as the call it stands for. */
export interface UnwrappedCall {
  readonly name: string;
  readonly args: unknown;
}

/**
 * When discovery is on and `name` is `gatehouse_call_tool`, the call it stands for; else the call unchanged.
 * The gateway then runs the inner call through the same path as a direct call (policy, credentials,
 * upstream, shaping, one audit record under the real tool name).
 */
export function unwrapCallTool(meta: ToolsetMeta, name: string, args: unknown): UnwrappedCall {
  if (name !== 'gatehouse_call_tool' || !meta.discovery) return { name, args };
  const record = asObject(args);
  const inner = record['name'];
  if (typeof inner !== 'string' || inner === '' || inner.length > 64 || inner === 'gatehouse_call_tool') {
    throw new GatehouseError('invalid_arguments', 'gatehouse_call_tool needs the name of a tool', {
      argument: 'name',
    });
  }
  const extra = Object.keys(record).filter((key) => key !== 'name' && key !== 'arguments');
  if (extra.length > 0) {
    throw new GatehouseError('invalid_arguments', `Unknown argument ${extra[0]} of gatehouse_call_tool`, {
      argument: extra[0] as string,
    });
  }
  return { name: inner, args: record['arguments'] ?? {} };
}

/** Whether `name` is a meta-tool this toolset has on (discovery's search and describe, the result tools). */
export function isMetaTool(meta: ToolsetMeta, name: string): boolean {
  return meta.discovery && (name === 'gatehouse_search_tools' || name === 'gatehouse_describe_tools')
    ? true
    : meta.handles && (name === 'gatehouse_result_query' || name === 'gatehouse_result_page');
}

/**
 * The meta-tool step of `callTool` (a name `resolveTool` found to be one of the toolset's meta-tools): answers it
 * for the call's owner. Past the limits step, like any call.
 */
export async function answerMetaTool(handles: ResultHandles, call: CallContext): Promise<ShapedResult> {
  const meta = call.toolset?.meta;
  const owner = { tenant: call.caller.tenant, subject: call.caller.subject, clientKey: call.caller.keyId };
  const answer = meta && (await runMetaTool(meta, handles, owner, call.name, call.args));
  if (answer === undefined) throw new GatehouseError('tool_not_found', `No tool named ${call.name.slice(0, 64)}`);
  return answer;
}

/**
 * Answers a meta-tool of this toolset (search, describe, result query, result page), or returns undefined
 * when `name` is not one that the toolset has on (the caller then treats it as any other tool name). Errors
 * are GatehouseErrors: `invalid_arguments`, and `not_found` for a handle that is unknown, expired or another
 * caller's (MC-05).
 */
export async function runMetaTool(
  meta: ToolsetMeta,
  handles: ResultHandles,
  owner: ResultOwner,
  name: string,
  args: unknown,
): Promise<ShapedResult | undefined> {
  const budget = meta.budgetOf(name);
  const context = { budget, owner, handles, ttlMs: meta.ttlMs };
  if (meta.discovery && name === 'gatehouse_search_tools') {
    const record = checkArguments(args, ['query', 'service', 'access', 'limit']);
    const query = readQuery(record);
    const service = readString(record, 'service', false, 64);
    const access = readString(record, 'access', false, 5);
    if (access !== undefined && access !== 'read' && access !== 'write') {
      throw new GatehouseError('invalid_arguments', 'access must be read or write', { argument: 'access' });
    }
    const limit = readInteger(record, 'limit', 1, 25) ?? 8;
    const hits = searchToolIndexes(meta.searchIndexes(), {
      query,
      limit,
      allowed: (tool) => meta.allByName.has(tool),
      // The toolset's class (policy.safety applied), not the catalogue's: a GET classed destructive must not be
      // offered to the model as a read, nor a read the operator vouches for hidden from `access: read`.
      safetyOf: (tool) => meta.safetyOf(tool),
      ...(service === undefined ? {} : { service }),
      ...(access === undefined ? {} : { access }),
    });
    return shapeJsonValue(
      {
        tools: hits.map(({ tool, reasons }) => ({
          name: tool.name,
          purpose: firstLine(tool.tool.description, tool.tool.title),
          access: accessOf(meta.safetyOf(tool.name) ?? tool.tool.safety),
          required: requiredArgumentsOf(tool.tool.inputSchema),
          why: explain(reasons),
        })),
        next: 'Call a tool with gatehouse_call_tool {"name":...,"arguments":{...}}; read its full input schema first with gatehouse_describe_tools {"names":[...]} when the required arguments are not enough.',
      },
      context,
    );
  }
  if (meta.discovery && name === 'gatehouse_describe_tools') {
    const record = checkArguments(args, ['names']);
    const names = record['names'];
    if (!Array.isArray(names) || names.length === 0 || names.length > 10 || names.some((n) => typeof n !== 'string')) {
      throw new GatehouseError('invalid_arguments', 'names must be a list of 1 to 10 tool names', {
        argument: 'names',
      });
    }
    const tools = (names as string[]).map((n) => meta.allByName.get(n) ?? { name: n, error: 'no such tool here' });
    return shapeJsonValue({ tools }, context);
  }
  if (meta.handles && name === 'gatehouse_result_query') {
    const record = checkArguments(args, ['handle', 'expression']);
    return queryResult(
      {
        handle: readString(record, 'handle', true, 64) as string,
        expression: readString(record, 'expression', true, 2_000) as string,
      },
      context,
    );
  }
  if (meta.handles && name === 'gatehouse_result_page') {
    const record = checkArguments(args, ['handle', 'path', 'offset', 'limit']);
    const path = readString(record, 'path', false, 500);
    const offset = readInteger(record, 'offset', 0, Number.MAX_SAFE_INTEGER);
    const limit = readInteger(record, 'limit', 1, Number.MAX_SAFE_INTEGER);
    return pageResult(
      {
        handle: readString(record, 'handle', true, 64) as string,
        ...(path === undefined ? {} : { path }),
        ...(offset === undefined ? {} : { offset }),
        ...(limit === undefined ? {} : { limit }),
      },
      context,
    );
  }
  return undefined;
}

function asObject(args: unknown): Record<string, unknown> {
  if (args === undefined) return {};
  if (args === null || typeof args !== 'object' || Array.isArray(args)) {
    throw new GatehouseError('invalid_arguments', 'Arguments must be an object', { argument: '' });
  }
  return args as Record<string, unknown>;
}

function checkArguments(args: unknown, allowed: readonly string[]): Record<string, unknown> {
  const record = asObject(args);
  for (const key of Object.keys(record)) {
    if (!allowed.includes(key)) {
      throw new GatehouseError('invalid_arguments', `Unknown argument ${key.slice(0, 64)}`, {
        argument: key.slice(0, 64),
      });
    }
  }
  return record;
}

function readString(record: Record<string, unknown>, key: string, required: boolean, max: number) {
  const value = record[key];
  if (value === undefined && !required) return undefined;
  if (typeof value !== 'string' || value === '' || value.length > max) {
    throw new GatehouseError('invalid_arguments', `${key} must be a non-empty string of at most ${max} characters`, {
      argument: key,
    });
  }
  return value;
}

function readInteger(record: Record<string, unknown>, key: string, min: number, max: number): number | undefined {
  const value = record[key];
  if (value === undefined) return undefined;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    throw new GatehouseError('invalid_arguments', `${key} must be an integer from ${min}`, { argument: key });
  }
  return value;
}

/** Longest search query accepted, in characters: a task request, not a document. */
export const maxQueryChars = 2_000;

/**
 * The `query` argument of `gatehouse_search_tools`: a string with at least one letter or digit (any script), at
 * most 2,000 characters, without control characters (binary data is not a request). A query in another language
 * or with typos is a query: it gets the best matches there are.
 */
function readQuery(record: Record<string, unknown>): string {
  const value = record['query'];
  const invalid = (reason: string) => new GatehouseError('invalid_arguments', `query ${reason}`, { argument: 'query' });
  if (typeof value !== 'string') throw invalid('must be a string: what you want to do, in plain words');
  if (value.length > maxQueryChars) throw invalid(`must be at most ${maxQueryChars} characters`);
  // Tabs and line breaks are text; other control characters and U+FFFD (undecodable bytes) are not.
  if (/[\p{Cc}\ufffd]/u.test(value.replace(/[\t\n\r]/g, ' '))) throw invalid('must be text');
  if (!/[\p{L}\p{N}]/u.test(value)) throw invalid('must not be empty: say what you want to do');
  return value;
}

/** Names of the required arguments (`body.amount` for a required field of a required body). */
function requiredArgumentsOf(schema: Readonly<Record<string, unknown>>): string[] {
  const required = Array.isArray(schema['required']) ? (schema['required'] as unknown[]) : [];
  const properties = (schema['properties'] ?? {}) as Record<string, Record<string, unknown> | undefined>;
  const out: string[] = [];
  for (const name of required) {
    if (typeof name !== 'string') continue;
    let inner = properties[name];
    const ref = inner?.['$ref'];
    if (typeof ref === 'string' && ref.startsWith('#/$defs/')) {
      inner = (schema['$defs'] as Record<string, Record<string, unknown>> | undefined)?.[ref.slice(8)];
    }
    const nested = Array.isArray(inner?.['required']) ? (inner?.['required'] as unknown[]) : [];
    if (inner?.['type'] === 'object' && nested.length > 0) {
      for (const field of nested) if (typeof field === 'string') out.push(`${name}.${field}`);
    } else out.push(name);
  }
  return out;
}

/**
 * Why a hit matched, in a few words: `money back -> refund (title, name; WordNet gloss)`, `song -> track (title,
 * name; close in meaning, 0.71)`.
 */
function explain(reasons: readonly ToolMatchReason[]): string {
  return reasons
    .slice(0, 3)
    .map(({ word, term, fields, via, similarity }) => {
      const where = fields.filter((field) => field !== 'method' && field !== 'service').slice(0, 2);
      const how =
        via === undefined
          ? ''
          : `; ${
              via === 'domain'
                ? 'API vocabulary'
                : via === 'meaning'
                  ? `close in meaning, ${similarity?.toFixed(2)}`
                  : ['typo', 'prefix', 'abbreviation'].includes(via)
                    ? via
                    : `WordNet ${via}`
            }`;
      return `${word === term ? word : `${word} -> ${term}`} (${(where.length > 0 ? where : fields).join(', ')}${how})`;
    })
    .join('; ');
}

/** The first line of a description that says more than the title (else the title), cut at 160 characters. */
function firstLine(description: string, title: string): string {
  const lines = description.split('\n').map((line) => line.trim());
  // `Returns: ...` (what the answer holds, appended at import) is no purpose: "Returns: Deleted." for a delete.
  const line = lines.find((l) => l !== '' && l !== title && !l.startsWith('>') && !l.startsWith('Returns: ')) ?? title;
  return line.length > 160 ? `${line.slice(0, 159)}…` : line;
}

function accessOf(safety: 'safe' | 'write' | 'destructive'): 'read' | 'write' | 'destructive' {
  return safety === 'safe' ? 'read' : safety;
}
