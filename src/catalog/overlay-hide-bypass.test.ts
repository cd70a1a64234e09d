import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../core/index.ts';
import { validateArguments } from '../policy/validate-arguments.ts';
import { buildRequest } from '../upstream/index.ts';
import { applyOverlays, type ToolOverlays } from './apply-overlays.ts';
import { loadCatalog } from './load-catalog.ts';

// Breaker 11, finding B: `hide: [body.<property>]` only deletes the property from the schema; object bodies keep
// additionalProperties open (every pack body does), so the model can still send the hidden property, and its value
// wins over the overlay's default. config.ts documents hide as "never sent unless defaulted".
const fixture = resolve(import.meta.dirname, 'fixtures', 'petstore.yaml');
const catalog = loadCatalog(fixture);
function overlays(raw: Record<string, unknown>): ToolOverlays {
  const config = parseConfig({ tenants: [{ id: 't', services: [{ id: 'pets', openapi: fixture, overlays: raw }] }] });
  return config.tenants[0]?.services[0]?.overlays as ToolOverlays;
}
function overlaid(raw: Record<string, unknown>) {
  const tool = applyOverlays(catalog, overlays(raw), 'x').tools.find((t) => t.operation === 'create pet!');
  if (tool === undefined) throw new Error('no tool');
  return tool;
}

describe('breaker11: hidden body properties', () => {
  it('a hidden body property sent by the model is refused (or at least never reaches the upstream)', () => {
    const tool = overlaid({ 'create pet!': { hide: ['body.name'] } });
    const args = { body: { name: 'model-chosen' } };
    let sent: string | undefined;
    try {
      const valid = validateArguments(tool, args);
      sent = String(buildRequest(tool, 'https://pets.example/v1', valid).body ?? '');
    } catch {
      sent = '';
    }
    expect(sent).not.toContain('model-chosen'); // FAILS: body is 'name=model-chosen'
  });

  it('a hidden body property with a default always carries the default', () => {
    const tool = overlaid({ 'create pet!': { hide: ['body.name'], defaults: { 'body.name': 'Rex' } } });
    let sent: string | undefined;
    try {
      const valid = validateArguments(tool, { body: { name: 'model-chosen' } });
      sent = String(buildRequest(tool, 'https://pets.example/v1', valid).body ?? '');
    } catch {
      sent = 'name=Rex';
    }
    expect(sent).toBe('name=Rex'); // FAILS: 'name=model-chosen'
  });
});
