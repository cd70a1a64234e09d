import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { bindCatalog, loadCatalog } from '../catalog/index.ts';
import type { Catalog, NamedTool, Tool } from '../core/index.ts';
import { createToolSearchIndex, searchToolIndexes } from './create-tool-search-index.ts';

function toolOf(key: string, title: string, method: Tool['request']['method'], path: string): Tool {
  return {
    key,
    operation: key,
    title,
    description: title,
    inputSchema: { type: 'object', properties: {} },
    annotations: {
      readOnlyHint: method === 'GET',
      destructiveHint: method === 'DELETE',
      idempotentHint: true,
      openWorldHint: true,
    },
    safety: method === 'GET' ? 'safe' : method === 'DELETE' ? 'destructive' : 'write',
    scopes: [],
    tags: [],
    request: { method, pathTemplate: path, parameters: [] },
  };
}

const small: Catalog = {
  id: 'test',
  title: 'Test',
  baseUrl: undefined,
  problems: [],
  tools: [
    toolOf('listPets', 'List pets', 'GET', '/pets'),
    toolOf('createPet', 'Create a pet', 'POST', '/pets'),
    toolOf('deletePet', 'Delete a pet', 'DELETE', '/pets/{id}'),
    toolOf('listOwners', 'List owners', 'GET', '/owners'),
  ],
};

describe('searchToolIndexes()', () => {
  it('ranks by words and intent, and applies the allowed, access and service filters', () => {
    const index = createToolSearchIndex(bindCatalog(small, 'pets'));
    expect(createToolSearchIndex(bindCatalog(small, 'pets'))).toBe(index);
    const top = (query: Parameters<typeof searchToolIndexes>[1]) =>
      searchToolIndexes([index], query).map((hit: { tool: NamedTool }) => hit.tool.name);
    expect(top({ query: 'remove a pet', limit: 1 })).toEqual(['pets_deletePet']);
    expect(top({ query: 'add a new pet', limit: 1 })).toEqual(['pets_createPet']);
    expect(top({ query: 'remove a pet', access: 'read', limit: 5 })).not.toContain('pets_deletePet');
    expect(top({ query: 'pets', allowed: (name) => name !== 'pets_listPets', limit: 5 })).not.toContain(
      'pets_listPets',
    );
    expect(top({ query: 'pets', service: 'other', limit: 5 })).toEqual([]);
  });
});

const specs = resolve(import.meta.dirname, '..', '..', '..', 'shared', 'specs');
const github = resolve(specs, 'github.api.github.com.json');
const stripe = resolve(specs, 'stripe.spec3.2023-09-12.yaml');

describe.skipIf(!existsSync(github) || !existsSync(stripe))('S6 labelled queries (subset)', () => {
  it('finds the tool a person would pick within the first five for most labelled queries', () => {
    const indexes = [
      createToolSearchIndex(bindCatalog(loadCatalog(github), 'github')),
      createToolSearchIndex(bindCatalog(loadCatalog(stripe), 'stripe')),
    ];
    const file = resolve(import.meta.dirname, '..', '..', 'bench', 'fixtures', 'tool-search-queries.json');
    const { queries } = JSON.parse(readFileSync(file, 'utf8')) as { queries: { query: string; expected: string[] }[] };
    const subset = queries.filter((_, i) => i % 3 === 0);
    const hits = subset.filter(({ query, expected }) =>
      searchToolIndexes(indexes, { query, limit: 5 }).some((hit) => expected.includes(hit.tool.name)),
    );
    expect(hits.length / subset.length).toBeGreaterThanOrEqual(0.85);
  }, 30_000);
});
