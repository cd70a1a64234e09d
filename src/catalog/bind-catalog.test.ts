import { describe, expect, it } from 'vitest';
import type { Catalog, Tool } from '../core/index.ts';
import { bindCatalog } from './bind-catalog.ts';
import { importDescription } from './import-description.ts';
import { toToolName } from './tool-name.ts';

function catalogWithKeys(keys: readonly string[]): Catalog {
  const tools = keys.map((key) => ({ key }) as unknown as Tool);
  return { id: 'x', title: 't', baseUrl: undefined, tools, problems: [] };
}

describe('bindCatalog()', () => {
  it('shares one ServiceCatalog per catalogue and service id', () => {
    const catalog = catalogWithKeys(['a', 'b']);
    expect(bindCatalog(catalog, 'svc')).toBe(bindCatalog(catalog, 'svc'));
    expect(bindCatalog(catalog, 'other')).not.toBe(bindCatalog(catalog, 'svc'));
    expect(bindCatalog(catalog, 'svc').byName.get('svc_b')?.tool.key).toBe('b');
  });

  it('resolves a collision created by shortening so names stay unique and within 64 characters', () => {
    const long = 'x'.repeat(80);
    const shortened = toToolName('svc', long);
    const keys = [long, shortened.slice('svc_'.length)];
    const names = bindCatalog(catalogWithKeys(keys), 'svc').tools.map((tool) => tool.name);
    expect(new Set(names).size).toBe(2);
    for (const name of names) expect(name).toMatch(/^[a-zA-Z0-9_-]{1,64}$/);
    expect(bindCatalog(catalogWithKeys(keys), 'svc').tools.map((tool) => tool.name)).toEqual(names);
  });

  it('gives the same names when the same description is imported again', () => {
    const text = `openapi: 3.0.0
info: { title: t }
paths:
  /a: { get: { operationId: ${'veryLong'.repeat(10)}, responses: {} }, post: { operationId: dup, responses: {} } }
  /b: { get: { operationId: dup, responses: {} } }
`;
    const names = () => bindCatalog(importDescription({ text, source: 's' }), 'svc').tools.map((tool) => tool.name);
    expect(names()).toEqual(names());
    expect(names().slice(1)).toEqual(['svc_dup', 'svc_dup_2']);
  });
});
