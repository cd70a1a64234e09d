import { describe, expect, it } from 'vitest';
import { importDescription } from '../import-description.ts';

/** The tool of a one-operation description whose 200 response is `response` (YAML, OpenAPI `dialect`). */
function toolAnswering(response: string, dialect = 'openapi: 3.0.3', schemas = '') {
  const yaml = `${dialect}
info: { title: t, version: '1' }
paths:
  /x:
    get:
      operationId: getX
      responses:
        '200':
          description: ok
${response}
components:
  schemas:
    Empty: { type: object }
${schemas}`;
  const tool = importDescription({ text: yaml, source: 'x.yaml' }).tools[0];
  if (tool === undefined) throw new Error('no tool');
  return tool;
}

const json = (schema: string) => `          content: { application/json: { schema: ${schema} } }`;

describe('toOutputSchema (a 2xx response schema -> the outputSchema a tool declares)', () => {
  it('keeps types, properties and items, inline, and drops required, formats, enums, bounds and descriptions', () => {
    const tool = toolAnswering(
      json("{ $ref: '#/components/schemas/Pet' }"),
      undefined,
      `    Pet:
      type: object
      required: [id]
      additionalProperties: false
      description: A pet.
      properties:
        id: { type: integer, minimum: 1 }
        status: { type: string, enum: [a, b], description: Status. }
        born: { type: string, format: date-time }
        tag: { type: string, nullable: true }`,
    );
    expect(tool.outputSchema).toEqual({
      type: 'object',
      properties: {
        id: { type: 'integer' },
        status: { type: 'string' },
        born: { type: 'string' },
        tag: { type: ['string', 'null'] },
      },
    });
    expect(tool.outputWrapped).toBe(false);
  });

  it('wraps an array answer as { result } (as results are delivered) and lists two object levels', () => {
    const tool = toolAnswering(
      json("{ $ref: '#/components/schemas/Pets' }"),
      undefined,
      `    Pets:
      type: array
      items:
        type: object
        properties:
          id: { type: string }
          owner:
            type: object
            properties:
              name: { type: string }
              address: { type: object, properties: { city: { type: string } } }`,
    );
    expect(tool.outputWrapped).toBe(true);
    expect(tool.outputSchema).toEqual({
      type: 'object',
      properties: {
        result: {
          type: 'array',
          items: {
            type: 'object',
            properties: {
              id: { type: 'string' },
              owner: { type: 'object', properties: { name: { type: 'string' }, address: { type: 'object' } } },
            },
          },
        },
      },
    });
  });

  it('follows recursive $refs without looping (depth is bounded)', () => {
    const tool = toolAnswering(
      json("{ $ref: '#/components/schemas/Node' }"),
      undefined,
      `    Node:
      type: object
      properties:
        name: { type: string }
        children: { type: array, items: { $ref: '#/components/schemas/Node' } }`,
    );
    expect(tool.outputSchema).toEqual({
      type: 'object',
      properties: {
        name: { type: 'string' },
        children: {
          type: 'array',
          items: {
            type: 'object',
            properties: { name: { type: 'string' }, children: { type: 'array', items: { type: 'object' } } },
          },
        },
      },
    });
  });

  it('merges allOf members and makes anyOf the union of its types (anything when a branch has none)', () => {
    const tool = toolAnswering(
      json("{ $ref: '#/components/schemas/Both' }"),
      undefined,
      `    Both:
      allOf:
        - { type: object, properties: { id: { type: string } } }
        - type: object
          properties:
            n: { anyOf: [{ type: integer }, { type: string }] }
            v: { oneOf: [{ type: string }, {}] }`,
    );
    expect(tool.outputSchema).toEqual({
      type: 'object',
      properties: { id: { type: 'string' }, n: { type: ['integer', 'string'] }, v: {} },
    });
  });

  it('never declares the members Gatehouse adds (_nextPage, _gatehouse), and declares nothing for an empty object', () => {
    const tool = toolAnswering(
      json(
        '{ type: object, properties: { _nextPage: { type: string }, _gatehouse: { type: integer }, a: { type: string } } }',
      ),
    );
    expect(tool.outputSchema).toEqual({ type: 'object', properties: { a: { type: 'string' } } });
    expect(toolAnswering(json("{ $ref: '#/components/schemas/Empty' }")).outputSchema).toBeUndefined();
    expect(toolAnswering(json('{}')).outputSchema).toBeUndefined();
  });

  it('declares nothing for a non-JSON or schemaless answer', () => {
    expect(toolAnswering('          content: { text/csv: { schema: { type: string } } }').outputSchema).toBeUndefined();
    expect(toolAnswering('').outputSchema).toBeUndefined();
  });

  it('reads Swagger 2 response schemas when the operation produces JSON (x-nullable too)', () => {
    const yaml = `swagger: '2.0'
info: { title: t, version: '1' }
host: api.example.com
produces: [application/json]
paths:
  /x:
    get:
      operationId: getX
      responses:
        '200':
          description: ok
          schema: { type: object, properties: { id: { type: string, x-nullable: true } } }
  /csv:
    get:
      operationId: getCsv
      produces: [text/csv]
      responses:
        '200': { description: ok, schema: { type: string } }`;
    const [x, csv] = importDescription({ text: yaml, source: 'x.yaml' }).tools;
    expect(x?.outputSchema).toEqual({ type: 'object', properties: { id: { type: ['string', 'null'] } } });
    expect(csv?.outputSchema).toBeUndefined();
  });
});
