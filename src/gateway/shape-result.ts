import type { NamedTool } from '../core/index.ts';
import {
  attachNextPage,
  conformToOutput,
  detectNextPage,
  estimateTokens,
  matchesOutputSchema,
  type ResultHandles,
  type ResultOwner,
  type ShapedResult,
  shapeToolResult,
  type ToolPage,
} from '../shaping/index.ts';
import type { UpstreamClient } from '../upstream/index.ts';
import { endpointOf } from './build-tenants.ts';
import type { ToolsetMeta } from './build-toolset-meta.ts';
import type { CallContext } from './call-context.ts';
import { toolOf } from './call-context.ts';
import { sendPage } from './send-upstream.ts';

/**
 * One upstream page as the gateway has it, already scrubbed (`toToolPage`, or a cache entry made from one): every
 * hint and merged page below is built from it, never from the raw answer (RS-01).
 */
export type FetchedPage = ToolPage;

export interface ShapeCallInput {
  readonly meta: ToolsetMeta;
  readonly handles: ResultHandles;
  readonly owner: ResultOwner;
  readonly tool: NamedTool;
  readonly args: Readonly<Record<string, unknown>>;
  readonly allowedOrigin: string;
  readonly first: FetchedPage;
  /** The toolset lists the tool's output schema: the result must conform to it (`conformToOutput`). */
  readonly declaresOutput: boolean;
  /** Fetches another page with these arguments (validated again by the caller); for `autoPaginate`. */
  readonly fetchPage?: (args: Readonly<Record<string, unknown>>) => Promise<FetchedPage>;
}

const mainArrays = ['data', 'items', 'results', 'values', 'records', 'entries', 'nodes', 'objects'];

export interface ShapeResultDependencies {
  readonly handles: ResultHandles;
  /** Sends further pages (`autoPaginate`) with the call's credential and scrubber. */
  readonly upstream: UpstreamClient;
}

/**
 * Step "shape" of `callTool`: the call's first page (fresh or cached) shaped for this caller: its toolset's
 * result budget, handles and pagination. A cached page is never followed to further pages.
 */
export async function shapeResult(deps: ShapeResultDependencies, call: CallContext): Promise<ShapedResult> {
  const { tool, service } = toolOf(call);
  if (call.toolset === undefined || call.page === undefined) throw new Error('callTool: nothing to shape');
  const shaped = await shapeResultWithHandles({
    meta: call.toolset.meta,
    handles: deps.handles,
    owner: ownerOf(call),
    tool,
    args: call.decision?.args ?? {},
    // A cached page has no credential resolved: the connection the decide step read has the same variables.
    allowedOrigin: endpointOf(service, call.credential?.variables ?? call.connection?.variables).allowedOrigin,
    first: call.page,
    declaresOutput: call.toolset.meta.allByName.get(tool.name)?.outputSchema !== undefined,
    ...(call.cached ? {} : { fetchPage: (args: Readonly<Record<string, unknown>>) => sendPage(deps, call, args) }),
  });
  call.outputUnmatched = shaped.outputUnmatched;
  return shaped.result;
}

/** Who a result handle belongs to: the tenant, subject and client key of the call. */
function ownerOf(call: CallContext): ResultOwner {
  return { tenant: call.caller.tenant, subject: call.caller.subject, clientKey: call.caller.keyId };
}

/**
 * The shaping step of a tool call: detects upstream pagination, follows it when the toolset has `autoPaginate`
 * (same-origin next pages only, up to `maxPages` and the result budget, list items concatenated), applies the
 * result budget (a handle and a summary over it), and adds the `_nextPage` hint. A tool with a listed output schema
 * has its (merged) answer checked against it before budgets apply, and is delivered in a form the schema admits.
 */
async function shapeResultWithHandles(
  input: ShapeCallInput,
): Promise<{ readonly result: ShapedResult; readonly outputUnmatched: boolean }> {
  const { meta, tool } = input;
  const budget = meta.budgetOf(tool.name);
  const nextOf = (page: FetchedPage, args: Readonly<Record<string, unknown>>) =>
    tool.tool.safety === 'safe'
      ? detectNextPage({
          tool: tool.tool,
          args,
          headers: page.headers,
          value: page.json,
          allowedOrigin: input.allowedOrigin,
        })
      : undefined;
  let result = input.first.result;
  let args = input.args;
  let next = nextOf(input.first, args);
  if (next !== undefined && meta.maxPages !== undefined && input.fetchPage !== undefined) {
    let combined = input.first.json;
    for (let page = 2; page <= meta.maxPages && next !== undefined; page++) {
      const nextArgs = { ...args, ...next };
      const fetched = await input.fetchPage(nextArgs);
      const merged = mergePages(combined, fetched.json);
      if (merged === undefined) break;
      const text = JSON.stringify(merged);
      if (estimateTokens(text) > budget) break;
      combined = merged;
      args = nextArgs;
      result = {
        structuredContent:
          merged !== null && typeof merged === 'object' && !Array.isArray(merged)
            ? (merged as Record<string, unknown>)
            : { result: merged },
        text,
      };
      next = nextOf(fetched, nextArgs);
    }
  }
  if (tool.tool.projection !== undefined && result.structuredContent !== undefined) {
    result = await project(input, tool.tool.projection, result);
  }
  const matched = input.declaresOutput && matchesOutputSchema(tool.tool, result);
  const shaped = await shapeToolResult(result, {
    budget,
    owner: input.owner,
    handles: meta.handles ? input.handles : undefined,
    ttlMs: meta.ttlMs,
  });
  const paged = next === undefined ? shaped : attachNextPage(shaped, next);
  if (!input.declaresOutput) return { result: paged, outputUnmatched: false };
  return { result: conformToOutput(tool.tool, paged, matched), outputUnmatched: !matched };
}

/**
 * A tool overlay's projection of a JSON result, in the query workers within the query budget. A result the
 * projection cannot be applied to within it (too slow, too large, the tenant's query slots busy) is kept whole:
 * budgets and handles still apply to it, and the model is never refused for the operator's expression.
 */
async function project(input: ShapeCallInput, expression: string, result: ShapedInput): Promise<ShapedInput> {
  let value: unknown;
  try {
    value = await input.handles.project(input.owner.tenant, result.text, expression);
  } catch {
    return result;
  }
  return {
    structuredContent:
      value !== null && typeof value === 'object' && !Array.isArray(value)
        ? (value as Record<string, unknown>)
        : { result: value },
    text: JSON.stringify(value),
  };
}

type ShapedInput = Parameters<typeof shapeToolResult>[0];

/** Concatenates two pages of a list: top-level arrays, or the main array (`data`, `items` ...) of objects. */
function mergePages(a: unknown, b: unknown): unknown {
  if (Array.isArray(a) && Array.isArray(b)) return [...a, ...b];
  if (a === null || b === null || typeof a !== 'object' || typeof b !== 'object') return undefined;
  for (const key of mainArrays) {
    const left = (a as Record<string, unknown>)[key];
    const right = (b as Record<string, unknown>)[key];
    if (Array.isArray(left) && Array.isArray(right)) {
      return { ...(b as Record<string, unknown>), [key]: [...left, ...right] };
    }
  }
  return undefined;
}
