import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { buildSchema, introspectionFromSchema } from 'graphql';
import { describe, expect, it } from 'vitest';
import { GatehouseError } from '../core/index.ts';
import { importDescription } from './import-description.ts';

const petstoreText = readFileSync(resolve(import.meta.dirname, 'fixtures', 'petstore.yaml'), 'utf8');
const petstore = importDescription({ text: petstoreText, source: 'petstore.yaml' });

function codeOf(run: () => unknown): string | undefined {
  try {
    run();
  } catch (error) {
    return error instanceof GatehouseError ? error.code : 'not a GatehouseError';
  }
  return undefined;
}

describe('importDescription()', () => {
  const rejected = [
    { title: 'plain text', text: 'hello: [' },
    { title: 'a JSON array', text: '[1, 2]' },
    { title: 'a JSON Schema', text: '{"$schema": "https://json-schema.org/draft/2020-12/schema", "type": "object"}' },
    { title: 'an OpenAPI 2.x lookalike', text: 'openapi: 2.5.0\npaths: {}' },
    { title: 'a description without paths', text: 'openapi: 3.0.0\ninfo: { title: t }' },
    { title: 'swagger when openapi is expected', text: 'swagger: "2.0"\npaths: {}', format: 'openapi' as const },
  ];
  for (const given of rejected) {
    it(`refuses ${given.title} with description_invalid`, () => {
      expect(codeOf(() => importDescription({ text: given.text, source: 'x', format: given.format }))).toBe(
        'description_invalid',
      );
    });
  }

  it.each([
    ['a GraphQL schema by its name', 'schema.graphql', '# comment\ntype Query { a: Int }', 'graphql'],
    ['a GraphQL schema by its text', 'upload', '"""The root"""\ntype Query {\n  a: Int\n}', 'graphql'],
    [
      'GraphQL introspection JSON',
      'upload',
      JSON.stringify({ data: introspectionFromSchema(buildSchema('type Query { a: Int }')) }),
      'graphql',
    ],
    [
      'a WSDL text',
      'upload',
      '<?xml version="1.0"?>\n<definitions name="x" xmlns="http://schemas.xmlsoap.org/wsdl/"></definitions>',
      'wsdl',
    ],
  ])('recognises %s', (_title, source, text, format) => {
    expect(importDescription({ text, source }).format).toBe(format);
  });

  it('names the source in the error details', () => {
    try {
      importDescription({ text: '42', source: 'uploads/bad.yaml' });
    } catch (error) {
      expect((error as GatehouseError).details).toEqual({ source: 'uploads/bad.yaml' });
    }
    expect.assertions(1);
  });

  it('imports what it can from a partly invalid description and lists each skipped operation', () => {
    const text = `openapi: 3.0.0
info: { title: partly }
paths:
  /ok:
    get: { operationId: fine, responses: { '200': { description: ok } } }
  /a/{id}:
    get: { operationId: noParam, responses: { '200': { description: ok } } }
  /b:
    get:
      parameters: [{ $ref: '#/components/parameters/missing' }]
      responses: { '200': { description: ok } }
    post:
      requestBody: { content: { application/json: { schema: { $ref: 'other.yaml#/Pet' } } } }
      responses: { '200': { description: ok } }
  /c: { $ref: '#/nowhere' }
`;
    const catalog = importDescription({ text, source: 'partly.yaml' });
    expect(catalog.tools.map((tool) => tool.key)).toEqual(['fine']);
    expect(catalog.problems.map((problem) => problem.at)).toEqual(['GET /a/{id}', 'GET /b', 'POST /b', 'GET /c']);
    expect(catalog.problems.every((problem) => problem.reason.length > 0)).toBe(true);
  });

  it('gives the catalogue the SHA-256 of the text as id, the title and the resolved server URL', () => {
    expect(petstore.id).toMatch(/^[0-9a-f]{64}$/);
    expect(importDescription({ text: petstoreText, source: 'again' }).id).toBe(petstore.id);
    expect(petstore.title).toBe('Petstore');
    expect(petstore.baseUrl).toBe('https://eu.pets.example/v1');
  });

  it('leaves a relative server URL undefined', () => {
    const text = 'openapi: 3.1.0\ninfo: { title: t }\nservers: [{ url: /v1 }]\npaths: {}';
    expect(importDescription({ text, source: 'r' }).baseUrl).toBeUndefined();
  });

  it('reads JSON and YAML of the same description identically', () => {
    const json = JSON.stringify({
      openapi: '3.0.0',
      info: { title: 't' },
      paths: { '/x': { get: { responses: { 200: { description: 'ok' } } } } },
    });
    const yaml =
      "openapi: 3.0.0\ninfo: { title: t }\npaths:\n  /x:\n    get:\n      responses: { '200': { description: ok } }\n";
    expect(importDescription({ text: json, source: 'j' }).tools).toEqual(
      importDescription({ text: yaml, source: 'y' }).tools,
    );
  });

  const methods = [
    { key: 'getPet', safety: 'safe', hints: [true, false, true, true] },
    { key: 'replacePet', safety: 'write', hints: [false, false, true, true] },
    { key: 'deletePet', safety: 'destructive', hints: [false, true, true, true] },
    { key: 'create_pet', safety: 'write', hints: [false, false, false, true] },
  ];
  for (const given of methods) {
    it(`${given.key}: safety ${given.safety} and annotations from the method`, () => {
      const tool = petstore.tools.find((t) => t.key === given.key);
      expect(tool?.safety).toBe(given.safety);
      const a = tool?.annotations;
      expect([a?.readOnlyHint, a?.destructiveHint, a?.idempotentHint, a?.openWorldHint]).toEqual(given.hints);
    });
  }

  it('writes title and a cleaned description with what the operation returns', () => {
    const tool = petstore.tools.find((t) => t.key === 'getPet');
    expect(tool?.title).toBe('Get a pet');
    expect(tool?.description).toBe(
      'Get a pet\n\nReturns one pet.\nSee the docs.\n\nSecond paragraph.\n\nReturns: The pet with its owner.',
    );
    expect(petstore.tools.find((t) => t.key === 'deletePet')?.title).toBe('Delete pet');
  });

  it('caps long descriptions at 1,000 characters with an ellipsis', () => {
    const text = `openapi: 3.0.0\ninfo: { title: t }\npaths:\n  /x:\n    get:\n      description: "${'word '.repeat(400)}"\n      responses: { '200': { description: ok } }\n`;
    const description = importDescription({ text, source: 'long' }).tools[0]?.description ?? '';
    expect(description.length).toBeLessThanOrEqual(1000);
    expect(description.endsWith('…')).toBe(true);
  });

  it('returns frozen tools', () => {
    const tool = petstore.tools[0];
    expect(Object.isFrozen(petstore.tools) && Object.isFrozen(tool) && Object.isFrozen(tool?.request)).toBe(true);
  });
});
