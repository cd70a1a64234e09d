import { createHash } from 'node:crypto';
import type { Catalog, ImportProblem, JsonSchema, Tool, ToolAnnotations, ToolSafety } from '../../core/index.ts';
import { markInvisibles } from '../../core/index.ts';
import { cleanDescription } from '../clean-description.ts';
import { toolDescriptionMax } from '../openapi/operation-object.ts';

/** One tool as a remote MCP server lists it (`tools/list`), untrusted: every field is checked before use. */
export interface McpListedTool {
  readonly name?: unknown;
  readonly title?: unknown;
  readonly description?: unknown;
  readonly inputSchema?: unknown;
  readonly outputSchema?: unknown;
  readonly annotations?: unknown;
}

/** The MCP tool name rule (2025-11-25): 1-128 characters of `A-Z a-z 0-9 _ - .`. */
const mcpToolName = /^[A-Za-z0-9_.-]{1,128}$/;
/** Listing size bounds: a server cannot make the gateway hold an unbounded catalogue. */
export const mcpToolsMax = 2_000;
const schemaBytesMax = 256 * 1024;

/**
 * A remote MCP server's tool listing -> Catalog. Each tool keeps its input and output schema and its annotations as
 * the server states them (the MCP defaults filled in: not read-only, destructive, not idempotent, open world); its
 * key is its name with `.` as `_`, and its request a `tools/call` of its own name (`request.mcp`).
 *
 * The annotations of an untrusted server are hints and never relax policy: the safety class is `destructive` unless
 * the server says `destructiveHint: false` (then `write`), and never `safe`, whatever `readOnlyHint` says; a toolset's
 * `safety` override is how an operator trusts a read-only tool. A tool with an invalid name, a non-object input
 * schema, an oversized schema or a name another tool already maps to is skipped and reported as a problem.
 */
export function transformMcpTools(tools: readonly McpListedTool[], source: string): Catalog {
  const problems: ImportProblem[] = [];
  const keys = new Map<string, string>();
  const imported: Tool[] = [];
  for (const [i, listed] of tools.entries()) {
    const at = typeof listed.name === 'string' ? listed.name.slice(0, 128) : `tools[${i}]`;
    if (imported.length >= mcpToolsMax) {
      problems.push({ at, reason: `more than ${mcpToolsMax} tools: the rest are not imported` });
      break;
    }
    const tool = toTool(listed, at, keys, problems);
    if (tool !== undefined) imported.push(tool);
  }
  const id = createHash('sha256')
    .update(`mcp\u0000${source}\u0000${JSON.stringify(tools)}`)
    .digest('hex');
  return Object.freeze({
    id,
    format: 'mcp' as const,
    title: source,
    baseUrl: source,
    tools: Object.freeze(imported),
    problems: Object.freeze(problems),
  });
}

function toTool(
  listed: McpListedTool,
  at: string,
  keys: Map<string, string>,
  problems: ImportProblem[],
): Tool | undefined {
  const { name } = listed;
  if (typeof name !== 'string' || !mcpToolName.test(name)) {
    problems.push({ at, reason: 'invalid tool name: expected 1-128 characters of A-Z a-z 0-9 _ - .' });
    return undefined;
  }
  const inputSchema = objectOf(listed.inputSchema);
  if (inputSchema === undefined || inputSchema['type'] !== 'object') {
    problems.push({ at, reason: 'inputSchema is not a JSON Schema of type object' });
    return undefined;
  }
  const outputSchema = objectOf(listed.outputSchema);
  if (JSON.stringify(inputSchema).length + JSON.stringify(outputSchema ?? {}).length > schemaBytesMax) {
    problems.push({ at, reason: `its schemas are larger than ${schemaBytesMax} bytes` });
    return undefined;
  }
  const key = name.replace(/\./g, '_');
  const earlier = keys.get(key);
  if (earlier !== undefined) {
    problems.push({ at, reason: `its name maps to ${key}, as tool ${earlier} does` });
    return undefined;
  }
  keys.set(key, name);
  const annotations = annotationsOf(listed.annotations);
  const safety: ToolSafety = annotations.destructiveHint ? 'destructive' : 'write';
  const title = typeof listed.title === 'string' ? listed.title : (titleOf(listed.annotations) ?? name);
  return Object.freeze({
    key,
    operation: name,
    // A client shows the title (and the description) to a person: invisible and bidi characters as marks (CP-04).
    title: markInvisibles(title.slice(0, 200)),
    description: markInvisibles(
      cleanDescription(typeof listed.description === 'string' ? listed.description : '', toolDescriptionMax),
    ),
    inputSchema,
    ...(outputSchema !== undefined && outputSchema['type'] === 'object' ? { outputSchema } : {}),
    annotations,
    safety,
    scopes: [],
    tags: [],
    request: Object.freeze({
      method: 'POST' as const,
      pathTemplate: `tools/call ${name}`,
      parameters: [],
      mcp: { tool: name },
    }),
  });
}

/** The server's hints with the MCP defaults for absent ones (readOnly false, destructive true, idempotent false, openWorld true). */
function annotationsOf(value: unknown): ToolAnnotations {
  const hints = objectOf(value) ?? {};
  const flag = (key: string, fallback: boolean) =>
    typeof hints[key] === 'boolean' ? (hints[key] as boolean) : fallback;
  const readOnlyHint = flag('readOnlyHint', false);
  return Object.freeze({
    readOnlyHint,
    // The spec: destructiveHint and idempotentHint mean something only when readOnlyHint is false.
    destructiveHint: readOnlyHint ? false : flag('destructiveHint', true),
    idempotentHint: readOnlyHint ? true : flag('idempotentHint', false),
    openWorldHint: flag('openWorldHint', true),
  });
}

function titleOf(annotations: unknown): string | undefined {
  const title = objectOf(annotations)?.['title'];
  return typeof title === 'string' ? title : undefined;
}

function objectOf(value: unknown): JsonSchema | undefined {
  return value !== null && typeof value === 'object' && !Array.isArray(value) ? (value as JsonSchema) : undefined;
}
