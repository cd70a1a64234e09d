import type { JsonSchema, ToolAnnotations } from '../core/index.ts';
import { nextPageUsage } from './attach-next-page.ts';

/** A tool the gateway itself answers (same listed form as a catalogue tool). */
export interface MetaTool {
  readonly name: MetaToolName;
  readonly title: string;
  readonly description: string;
  readonly inputSchema: JsonSchema;
  readonly annotations: ToolAnnotations;
}

export type MetaToolName =
  | 'gatehouse_search_tools'
  | 'gatehouse_describe_tools'
  | 'gatehouse_call_tool'
  | 'gatehouse_result_query'
  | 'gatehouse_result_page';

const readOnly: ToolAnnotations = Object.freeze({
  readOnlyHint: true,
  destructiveHint: false,
  idempotentHint: true,
  openWorldHint: false,
});

const handle = { type: 'string', description: 'The handle of a stored result (`rh_...`).' } as const;

/**
 * The meta-tools: discovery (search, describe, call) for toolsets too large to list, and navigation (query,
 * page) of results stored as handles. Names match `^[a-zA-Z0-9_-]{1,64}$`; `gatehouse_` is reserved.
 */
export const metaTools: Readonly<Record<MetaToolName, MetaTool>> = Object.freeze({
  gatehouse_search_tools: {
    name: 'gatehouse_search_tools',
    title: 'Search tools',
    description:
      'Finds tools of this endpoint by what you want to do, in plain words (e.g. "refund a payment", "kick Tom off the board"). This endpoint has more tools than are listed. Each hit has the tool name, purpose, read/write access, required arguments and why it matched, best first; then run one with gatehouse_call_tool (gatehouse_describe_tools gives a full input schema).',
    inputSchema: {
      type: 'object',
      properties: {
        query: { type: 'string', minLength: 1, maxLength: 2000, description: 'What you want to do.' },
        service: { type: 'string', description: 'Only tools of this service (the part of a tool name before `_`).' },
        access: {
          type: 'string',
          enum: ['read', 'write'],
          description: '`read`: only tools without side effects; `write`: only tools that change something.',
        },
        limit: { type: 'integer', minimum: 1, maximum: 25, default: 8 },
      },
      required: ['query'],
      additionalProperties: false,
    },
    annotations: readOnly,
  },
  gatehouse_describe_tools: {
    name: 'gatehouse_describe_tools',
    title: 'Describe tools',
    description:
      'Returns the full definition (description, input schema, annotations) of the named tools, as tools/list would. Use it on search results before calling a tool.',
    inputSchema: {
      type: 'object',
      properties: {
        names: {
          type: 'array',
          items: { type: 'string' },
          minItems: 1,
          maxItems: 10,
          description: 'Tool names from gatehouse_search_tools.',
        },
      },
      required: ['names'],
      additionalProperties: false,
    },
    annotations: readOnly,
  },
  gatehouse_call_tool: {
    name: 'gatehouse_call_tool',
    title: 'Call a tool',
    description:
      "Runs one tool of this endpoint by name, exactly as a direct call would (same permissions, validation, limits and approvals). Returns that tool's result.",
    inputSchema: {
      type: 'object',
      properties: {
        name: { type: 'string', minLength: 1, maxLength: 64, description: 'The tool to run.' },
        arguments: { type: 'object', description: 'Its arguments, as its input schema describes.' },
      },
      required: ['name'],
      additionalProperties: false,
    },
    annotations: Object.freeze({
      readOnlyHint: false,
      destructiveHint: true,
      idempotentHint: false,
      openWorldHint: true,
    }),
  },
  gatehouse_result_query: {
    name: 'gatehouse_result_query',
    title: 'Query a stored result',
    description:
      "Selects data from a large result kept as a handle, with a JMESPath expression (e.g. `items[0:10].{id: id, name: name}`, `length(items)`, `items[?state=='open'].title`). Answers larger than the budget become a new handle. " +
      nextPageUsage,
    inputSchema: {
      type: 'object',
      properties: {
        handle,
        expression: { type: 'string', minLength: 1, maxLength: 2000, description: 'A JMESPath expression.' },
      },
      required: ['handle', 'expression'],
      additionalProperties: false,
    },
    annotations: readOnly,
  },
  gatehouse_result_page: {
    name: 'gatehouse_result_page',
    title: 'Page through a stored result',
    description:
      'Reads a large result kept as a handle one page at a time: with `path`, items of the array there (a JMESPath such as `items`, `@` for a top-level array); without, the exact text by character ranges. Each answer fits the budget and says `nextOffset` (null at the end).',
    inputSchema: {
      type: 'object',
      properties: {
        handle,
        path: { type: 'string', maxLength: 500, description: 'JMESPath of an array; omit to page the text.' },
        offset: { type: 'integer', minimum: 0, default: 0, description: 'First item or character.' },
        limit: { type: 'integer', minimum: 1, description: 'Items or characters wanted (capped by the budget).' },
      },
      required: ['handle'],
      additionalProperties: false,
    },
    annotations: readOnly,
  },
} satisfies Record<MetaToolName, MetaTool>);

export const metaToolNames: ReadonlySet<string> = new Set(Object.keys(metaTools));
