import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { importDescription } from '../import-description.ts';

const text = readFileSync(resolve(import.meta.dirname, '..', 'fixtures', 'petstore.yaml'), 'utf8');
const catalog = importDescription({ text, source: 'petstore.yaml' });
const toolOf = (key: string) => catalog.tools.find((tool) => tool.key === key);

describe('Request Body Object', () => {
  const cases = [
    { key: 'replacePet', want: { argument: 'body', mediaType: 'application/merge-patch+json', required: true } },
    { key: 'create_pet', want: { argument: 'body', mediaType: 'application/x-www-form-urlencoded', required: false } },
    { key: 'deletePet', want: undefined },
  ];
  for (const given of cases) {
    it(`${given.key}: picks JSON first, then form, then multipart`, () => {
      expect(toolOf(given.key)?.request.body).toEqual(given.want);
    });
  }

  it('puts the body schema under `body`, required when the body is', () => {
    const schema = toolOf('replacePet')?.inputSchema as Record<string, Record<string, unknown>>;
    expect(schema['properties']?.['body']).toEqual({ $ref: '#/$defs/Pet' });
    expect(schema['required']).toEqual(['id', 'body']);
  });

  it('skips an operation whose required body has no supported media type, and reports it', () => {
    const yaml = `openapi: 3.0.0
info: { title: t }
paths:
  /img:
    put:
      requestBody: { required: true, content: { image/png: { schema: { type: string } } } }
      responses: { '204': { description: ok } }
    post:
      requestBody: { content: { image/png: { schema: { type: string } } } }
      responses: { '204': { description: ok } }
`;
    const result = importDescription({ text: yaml, source: 'img.yaml' });
    expect(result.problems).toEqual([{ at: 'PUT /img', reason: expect.stringContaining('image/png') }]);
    expect(result.tools.map((tool) => [tool.key, tool.request.body])).toEqual([['post_img', undefined]]);
  });
});
