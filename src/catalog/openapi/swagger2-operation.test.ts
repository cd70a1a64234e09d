import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { describe, expect, it } from 'vitest';
import { importDescription } from '../import-description.ts';

const catalog = importDescription({
  text: readFileSync(resolve(import.meta.dirname, '..', 'fixtures', 'swagger2.yaml'), 'utf8'),
  source: 'swagger2.yaml',
});
const toolOf = (key: string) => catalog.tools.find((tool) => tool.key === key);

describe('Swagger 2.0 operations', () => {
  it('builds the base URL from schemes, host and basePath (https preferred)', () => {
    expect(catalog.baseUrl).toBe('https://files.example/api');
  });

  const bodies = [
    { key: 'files_upload', want: { argument: 'body', mediaType: 'multipart/form-data', required: true } },
    { key: 'files_update', want: { argument: 'body', mediaType: 'application/json', required: true } },
    { key: 'files_rename', want: { argument: 'body', mediaType: 'application/x-www-form-urlencoded', required: true } },
  ];
  for (const given of bodies) {
    it(`${given.key}: body and formData parameters become a request body`, () => {
      expect(toolOf(given.key)?.request.body).toEqual(given.want);
    });
  }

  it('turns formData parameters into an object schema (file -> binary string)', () => {
    const body = ((toolOf('files_upload')?.inputSchema['properties'] ?? {}) as Record<string, unknown>)['body'];
    expect(body).toEqual({
      type: 'object',
      properties: { file: { type: 'string', format: 'binary' }, note: { type: 'string' } },
      required: ['file'],
    });
  });

  const collections = [
    { name: 'ids', want: { style: 'form', explode: true } },
    { name: 'tags', want: { style: 'form', explode: false } },
    { name: 'sort', want: { style: 'pipeDelimited', explode: false } },
  ];
  for (const given of collections) {
    it(`maps collectionFormat of ${given.name} to style/explode`, () => {
      expect(toolOf('files_upload')?.request.parameters.find((p) => p.name === given.name)).toMatchObject(given.want);
    });
  }

  it('resolves #/definitions refs (with a self cycle and x-nullable) and #/parameters refs', () => {
    const schema = toolOf('files_update')?.inputSchema as Record<string, unknown>;
    expect(schema['$defs']).toEqual({
      File: {
        type: ['object', 'null'],
        properties: { name: { type: 'string' }, parent: { $ref: '#/$defs/File' } },
      },
    });
    expect(new Ajv2020({ strict: false }).compile(schema)({ id: 'a', body: { parent: null } })).toBe(true);
    expect(toolOf('files_rename')?.request.parameters.map((p) => p.argument)).toEqual(['id']);
  });
});
