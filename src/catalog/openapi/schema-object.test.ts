import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { describe, expect, it } from 'vitest';
import { importDescription } from '../import-description.ts';

const text = readFileSync(resolve(import.meta.dirname, '..', 'fixtures', 'petstore.yaml'), 'utf8');
const catalog = importDescription({ text, source: 'petstore.yaml' });
const replacePet = catalog.tools.find((tool) => tool.key === 'replacePet');
const defs = replacePet?.inputSchema['$defs'] as Record<string, Record<string, unknown>>;

function propertiesOf(schema: Record<string, unknown> | undefined): Record<string, unknown> {
  return (schema?.['properties'] ?? {}) as Record<string, unknown>;
}

function importSchemas(dialect: string, schemas: string): Record<string, unknown> {
  const yaml = `${dialect}
info: { title: t }
paths:
  /x:
    post:
      requestBody: { content: { application/json: { schema: { $ref: '#/components/schemas/A' } } } }
      responses: { '200': { description: ok } }
components:
  schemas:
${schemas}`;
  const tool = importDescription({ text: yaml, source: 'x.yaml' }).tools[0];
  return tool?.inputSchema as Record<string, unknown>;
}

describe('Schema Object', () => {
  it('hoists only the reached components into $defs, with a self cycle (Person) and a mutual one (Pet <-> Person)', () => {
    expect(Object.keys(defs).sort()).toEqual(['Person', 'Pet', 'Tag']);
    expect(propertiesOf(defs['Person'])['parent']).toEqual({ $ref: '#/$defs/Person' });
  });

  const conversions = [
    { property: 'name', want: { type: ['string', 'null'] } },
    { property: 'kind', want: { type: ['string', 'null'], enum: ['cat', 'dog', null] } },
    { property: 'age', want: { type: 'integer', exclusiveMinimum: 0 } },
    { property: 'tag', want: { anyOf: [{ allOf: [{ $ref: '#/$defs/Tag' }] }, { type: 'null' }] } },
  ];
  for (const given of conversions) {
    it(`converts OpenAPI 3.0 ${given.property} to 2020-12`, () => {
      expect(propertiesOf(defs['Pet'])[given.property]).toEqual(given.want);
    });
  }

  it('drops readOnly properties from request schemas and from required, and non-schema keywords', () => {
    const pet = defs['Pet'] as Record<string, unknown>;
    expect(Object.keys(pet['properties'] as object)).not.toContain('id');
    expect(pet['required']).toEqual(['name']);
    for (const dropped of ['x-internal', 'example', 'discriminator']) expect(pet).not.toHaveProperty(dropped);
    expect(defs['Tag']).toEqual({ type: 'string' });
  });

  it('compiles with Ajv 2020 and validates through the cycles', () => {
    const validate = new Ajv2020({ strict: false }).compile(replacePet?.inputSchema as object);
    expect(validate({ id: 1, body: { name: null, owner: { parent: { pets: [{ name: 'a' }] } } } })).toBe(true);
    expect(validate({ id: 1, body: { name: 1 } })).toBe(false);
    expect(validate({})).toBe(false);
  });

  const dialects = [
    {
      title: '3.1 keeps type arrays and $ref siblings',
      dialect: 'openapi: 3.1.0',
      schemas:
        "    A: { type: [string, 'null'], $ref: '#/components/schemas/B', $id: 'urn:x', examples: [a] }\n    B: { minLength: 1 }\n",
      want: { $ref: '#/$defs/A' },
      wantDefs: { A: { $ref: '#/$defs/B', type: ['string', 'null'] }, B: { minLength: 1 } },
    },
    {
      title: 'drops invalid patterns and unknown formats',
      dialect: 'openapi: 3.0.0',
      schemas: "    A: { type: string, pattern: '[\\\\w-.]+', format: repo-name }\n",
      want: { $ref: '#/$defs/A' },
      wantDefs: { A: { type: 'string' } },
    },
  ];
  for (const given of dialects) {
    it(given.title, () => {
      const schema = importSchemas(given.dialect, given.schemas);
      expect((schema['properties'] as Record<string, unknown>)['body']).toEqual(given.want);
      expect(schema['$defs']).toEqual(given.wantDefs);
      expect(() => new Ajv2020({ strict: false }).compile(schema)).not.toThrow();
    });
  }
});
