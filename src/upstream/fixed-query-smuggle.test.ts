import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { applyOverlays, type ToolOverlays } from '../catalog/apply-overlays.ts';
import { loadCatalog } from '../catalog/load-catalog.ts';
import { parseConfig } from '../core/index.ts';
import { validateArguments } from '../policy/validate-arguments.ts';
import { buildRequest } from './build-request.ts';

// Breaker review of issue 11, finding 4 (K): a query parameter of object type (style form, explode true: the OpenAPI default) is
// serialised as one `key=value` pair per property the model gives (serialize-parameter.ts:108), so the model can
// add any query parameter, including a second copy of one an overlay fixed. Many servers take the first copy.
const dir = mkdtempSync(join(tmpdir(), 'b11-'));
const file = join(dir, 'api.yaml');
writeFileSync(
  file,
  `openapi: 3.0.3
info: { title: T, version: "1" }
servers: [{ url: https://api.example }]
paths:
  /messages:
    get:
      operationId: listMessages
      parameters:
        - { name: opts, in: query, schema: { type: object } }
        - { name: channel, in: query, schema: { type: string } }
      responses: { "200": { description: OK } }
`,
);

describe('breaker11 finding 4: a fixed query parameter', () => {
  it('the model cannot send another value for a fixed query parameter through an object parameter', () => {
    const raw = { listMessages: { fixed: { channel: 'C-ALLOWED' } } };
    const config = parseConfig({ tenants: [{ id: 't', services: [{ id: 's', openapi: file, overlays: raw }] }] });
    const overlays = config.tenants[0]?.services[0]?.overlays as ToolOverlays;
    const tool = applyOverlays(loadCatalog(file), overlays, 'x').tools.find((t) => t.operation === 'listMessages');
    if (tool === undefined) throw new Error('no tool');
    const args = validateArguments(tool, { opts: { channel: 'C-SECRET' } });
    const url = buildRequest(tool, 'https://api.example', args).url;
    expect(url.searchParams.getAll('channel')).toEqual(['C-ALLOWED']); // FAILS: ['C-SECRET', 'C-ALLOWED']
  });
});
