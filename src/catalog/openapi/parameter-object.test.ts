import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { importDescription } from '../import-description.ts';

const text = readFileSync(resolve(import.meta.dirname, '..', 'fixtures', 'petstore.yaml'), 'utf8');
const catalog = importDescription({ text, source: 'petstore.yaml' });
const getPet = catalog.tools.find((tool) => tool.key === 'getPet');

describe('Parameter Object', () => {
  const cases = [
    { name: 'id', in: 'path', want: { argument: 'id', required: true, style: 'simple', explode: false } },
    { name: 'id', in: 'header', want: { argument: 'header_id', required: false, style: 'simple', explode: false } },
    { name: 'fields', in: 'query', want: { argument: 'fields', required: false, style: 'form', explode: true } },
    {
      name: 'filter',
      in: 'query',
      want: { argument: 'filter', style: 'deepObject', explode: false, allowReserved: true },
    },
    { name: 'session', in: 'cookie', want: { argument: 'session', required: true, style: 'form', explode: true } },
  ] as const;
  for (const given of cases) {
    it(`reads ${given.in} parameter ${given.name} with its defaults`, () => {
      const parameter = getPet?.request.parameters.find((p) => p.name === given.name && p.in === given.in);
      expect(parameter).toMatchObject(given.want);
    });
  }

  it('puts one property per parameter in the input schema, path-item parameters included, required correct', () => {
    expect(Object.keys(getPet?.inputSchema['properties'] as object).sort()).toEqual(
      ['fields', 'filter', 'header_id', 'id', 'session'].sort(),
    );
    expect(getPet?.inputSchema['required']).toEqual(['id', 'session']);
    expect(getPet?.inputSchema['additionalProperties']).toBe(false);
  });
});
