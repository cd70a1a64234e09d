import { readFileSync } from 'node:fs';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { buildSchema, graphqlSync, introspectionFromSchema, parse, validate } from 'graphql';
import { describe, expect, it } from 'vitest';
import { sharedSpec } from '../../../test/support/shared-specs-dir.ts';
import type { GatehouseError } from '../../core/index.ts';
import { bindCatalog } from '../bind-catalog.ts';
import { importDescription } from '../import-description.ts';

const sdl = `
"""A thing"""
scalar DateTime
enum Color { RED GREEN BLUE }
input NewItem { name: String!, color: Color = RED, tags: [String!], parent: NewItem, due: DateTime }
type PageInfo { hasNextPage: Boolean!, endCursor: String }
type Item { id: ID!, name: String!, color: Color, owner: User, secret(reason: String!): String, old: Int @deprecated }
type User { login: String!, items(first: Int, after: String): ItemConnection }
type ItemConnection { totalCount: Int!, pageInfo: PageInfo!, nodes: [Item] }
type Query {
  "Looks an item up."
  item(id: ID!): Item
  items(first: Int, after: String, color: Color): ItemConnection!
  count: Int
  legacy: Int @deprecated(reason: "gone")
}
type Mutation { createItem(input: NewItem!): Item }
`;

function importSdl(text = sdl, selectionDepth?: number) {
  return importDescription({ text, source: 'shop.graphql', ...(selectionDepth ? { selectionDepth } : {}) });
}

function errorOf(run: () => unknown): GatehouseError {
  try {
    run();
  } catch (error) {
    return error as GatehouseError;
  }
  throw new Error('expected an error');
}

describe('GraphQL import', () => {
  it('makes a read tool per Query field and a write tool per Mutation field, skipping deprecated ones', () => {
    const catalog = importSdl();
    expect(catalog.format).toBe('graphql');
    const tools = bindCatalog(catalog, 'shop').tools;
    expect(tools.map((t) => [t.name, t.tool.safety])).toEqual([
      ['shop_item', 'safe'],
      ['shop_items', 'safe'],
      ['shop_count', 'safe'],
      ['shop_createItem', 'write'],
    ]);
    expect(tools[0]!.tool.title).toBe('Looks an item up.');
    expect(tools[0]!.tool.request.method).toBe('POST');
  });

  it('turns arguments into JSON Schema: non-null required, input objects in $defs, enums, lists, custom scalars', () => {
    const create = importSdl().tools[3]!;
    expect(create.inputSchema['required']).toEqual(['input']);
    const defs = create.inputSchema['$defs'] as Record<string, Record<string, unknown>>;
    expect(defs['NewItem']).toMatchObject({
      required: ['name'],
      properties: {
        color: { type: 'string', enum: ['RED', 'GREEN', 'BLUE'] },
        tags: { type: 'array', items: { type: 'string' } },
        parent: { $ref: '#/$defs/NewItem' },
      },
    });
    expect(
      String((defs['NewItem']!['properties'] as Record<string, { description?: string }>)['due']!.description),
    ).toContain('custom scalar');
    const validateInput = new Ajv2020({ strict: false }).compile(create.inputSchema);
    expect(validateInput({ input: { name: 'a', parent: { name: 'b' } } })).toBe(true);
    expect(validateInput({ input: { color: 'PINK' } })).toBe(false);
  });

  it('generates a document that is valid against the schema, selecting to the configured depth', () => {
    const schema = buildSchema(sdl);
    for (const depth of [1, 2, 3]) {
      for (const tool of importSdl(sdl, depth).tools) {
        const document = tool.request.graphql!.document;
        expect(validate(schema, parse(document)), `${depth} ${document}`).toEqual([]);
      }
    }
    const [item] = importSdl(sdl, 1).tools;
    expect(item!.request.graphql!.document).toBe('query Item($id: ID!) { item(id: $id) { id name color } }');
    const deeper = importSdl(sdl, 2).tools;
    expect(deeper[0]!.request.graphql!.document).toContain('owner { login }');
    expect(deeper[0]!.request.graphql!.document).not.toContain('secret');
    expect(deeper[1]!.request.graphql!.document).toContain(
      'totalCount pageInfo { hasNextPage endCursor } nodes { id name color',
    );
  });

  it('the generated query runs against the schema and the variables carry the arguments', () => {
    const schema = buildSchema(sdl);
    const tool = importSdl().tools[0]!;
    const result = graphqlSync({
      schema,
      source: tool.request.graphql!.document,
      variableValues: { id: '1' },
      rootValue: { item: ({ id }: { id: string }) => ({ id, name: 'n', color: 'RED', owner: { login: 'l' } }) },
    });
    expect(result.errors).toBeUndefined();
    expect(result.data).toEqual({ item: { id: '1', name: 'n', color: 'RED', owner: { login: 'l' } } });
  });

  it('imports introspection JSON the same as SDL', () => {
    const json = JSON.stringify({ data: introspectionFromSchema(buildSchema(sdl)) });
    const fromJson = importDescription({ text: json, source: 'shop.json' }).tools;
    expect(fromJson.map((t) => t.request.graphql!.document)).toEqual(
      importSdl().tools.map((t) => t.request.graphql!.document),
    );
  });

  it('names the file, line and column of a syntax error and of an unknown type', () => {
    const syntax = errorOf(() => importSdl('type Query {\n  a: Int\n  b(: Int\n}'));
    expect(syntax.code).toBe('description_invalid');
    expect(syntax.message).toContain('shop.graphql');
    expect(syntax.message).toContain('line 3');
    const unknown = errorOf(() => importSdl('type Query {\n  a: Int\n  b: Missing\n}'));
    expect(unknown.code).toBe('description_invalid');
    expect(unknown.message).toMatch(/unknown type Missing at line 3, column 6/);
    expect(unknown.details['source']).toBe('shop.graphql');
  });

  it('refuses a schema without Query or Mutation fields and JSON that is not introspection', () => {
    expect(errorOf(() => importSdl('scalar X')).code).toBe('description_invalid');
    expect(errorOf(() => importDescription({ text: '{"a": 1}', source: 'x.json', format: 'graphql' })).code).toBe(
      'description_invalid',
    );
  });
});

const github = sharedSpec('github.schema.graphql');
describe.skipIf(github === undefined)('GraphQL import of github.schema.graphql', () => {
  it('imports every non-deprecated query and mutation field; each document validates against the schema', () => {
    const text = readFileSync(github!, 'utf8');
    const catalog = importDescription({ text, source: 'github.schema.graphql' });
    expect(catalog.problems).toEqual([]);
    const bound = bindCatalog(catalog, 'github');
    expect(bound.tools.filter((t) => t.tool.safety === 'safe').length).toBeGreaterThan(20);
    expect(bound.tools.filter((t) => t.tool.safety === 'write').length).toBeGreaterThan(200);
    expect(bound.tools.every((t) => /^[a-zA-Z0-9_-]{1,64}$/.test(t.name))).toBe(true);
    const schema = buildSchema(text, { assumeValidSDL: true });
    const invalid = bound.tools.filter((t) => validate(schema, parse(t.tool.request.graphql!.document)).length > 0);
    expect(invalid.map((t) => t.name)).toEqual([]);
    const ajv = new Ajv2020({ strict: false });
    for (const { tool } of bound.tools) ajv.compile(tool.inputSchema);
  }, 60_000);
});

describe('GraphQL output schemas', () => {
  it('declares an output schema from the selection: connections, custom scalars, scalar roots wrapped, answers valid', () => {
    const catalog = importSdl(`${sdl}\ntype Extra { due: DateTime }\nextend type Query { extra: Extra }`);
    const output = (key: string) => catalog.tools.find((tool) => tool.key === key);
    const items = output('items');
    expect(items?.outputWrapped).toBe(false);
    const item = { id: { type: 'string' }, name: { type: 'string' }, color: { type: ['string', 'null'] } };
    // Two object levels: the connection's nodes list their leaves, the owner below them is only an object.
    expect(items?.outputSchema).toEqual({
      type: 'object',
      properties: {
        totalCount: { type: 'integer' },
        pageInfo: {
          type: 'object',
          properties: { hasNextPage: { type: 'boolean' }, endCursor: { type: ['string', 'null'] } },
        },
        nodes: {
          type: ['array', 'null'],
          items: { type: ['object', 'null'], properties: { ...item, owner: { type: ['object', 'null'] } } },
        },
      },
    });
    expect(output('count')?.outputSchema).toEqual({
      type: 'object',
      properties: { result: { type: ['integer', 'null'] } },
    });
    expect(output('count')?.outputWrapped).toBe(true);
    expect(output('extra')?.outputSchema).toEqual({ type: 'object', properties: { due: {} } });
    const ajv = new Ajv2020({ strict: false });
    const answer = {
      totalCount: 1,
      pageInfo: { hasNextPage: false, endCursor: null },
      nodes: [{ id: '1', name: 'Lamp', color: null, owner: { login: 'ann' } }],
    };
    expect(ajv.compile(items?.outputSchema as object)(answer)).toBe(true);
  });
});
