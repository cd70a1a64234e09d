import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { dropFixedHeaderArguments } from './drop-fixed-header-arguments.ts';
import { loadCatalog } from './load-catalog.ts';

const dir = mkdtempSync(join(tmpdir(), 'fixed-headers-'));
const file = join(dir, 'api.openapi.yaml');
writeFileSync(
  file,
  `openapi: 3.0.3
info: { title: Twitch-like, version: "1" }
servers: [{ url: https://api.example.test }]
paths:
  /users:
    get:
      operationId: get_users
      parameters:
        - { name: Client-Id, in: header, required: true, schema: { type: string } }
        - { name: X-Trace, in: header, required: false, schema: { type: string } }
        - { name: login, in: query, required: true, schema: { type: string } }
      responses: { "200": { description: ok } }
`,
);

describe('provider_fixed_header_in_input_schema: a fixed header is never an argument', () => {
  it('drops the parameter a fixed header supplies (any case) from the input schema and the request', () => {
    const catalog = loadCatalog(file);
    const before = catalog.tools[0];
    expect(Object.keys(before?.inputSchema['properties'] as object)).toContain('Client-Id');
    const after = dropFixedHeaderArguments(catalog, ['client-id'])!.tools[0];
    const schema = after?.inputSchema as { properties: Record<string, unknown>; required?: string[] };
    expect(Object.keys(schema.properties).sort()).toEqual(['X-Trace', 'login']);
    expect(schema.required).toEqual(['login']);
    expect(after?.request.parameters.map((p) => p.name)).toEqual(['X-Trace', 'login']);
  });

  it('without fixed headers, or none matching, the catalogue is the same object', () => {
    const catalog = loadCatalog(file);
    expect(dropFixedHeaderArguments(catalog, [])).toBe(catalog);
    expect(dropFixedHeaderArguments(catalog, ['Notion-Version'])).toBe(catalog);
  });
});
