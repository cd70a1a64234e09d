import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { type GatehouseError, parseConfig } from '../core/index.ts';
import { inspectOverlays } from '../gateway/index.ts';
import { buildRequest } from '../upstream/index.ts';
import { applyOverlays, type ToolOverlays } from './apply-overlays.ts';
import { bindCatalog } from './bind-catalog.ts';
import { loadCatalog } from './load-catalog.ts';

const fixture = resolve(import.meta.dirname, 'fixtures', 'petstore.yaml');
const catalog = loadCatalog(fixture);

/** Overlays as the config schema makes them (defaults filled in). */
function overlays(raw: Record<string, unknown>): ToolOverlays {
  const config = parseConfig({ tenants: [{ id: 't', services: [{ id: 'pets', openapi: fixture, overlays: raw }] }] });
  return config.tenants[0]?.services[0]?.overlays as ToolOverlays;
}

function errorOf(fn: () => unknown): GatehouseError {
  try {
    fn();
  } catch (error) {
    return error as GatehouseError;
  }
  throw new Error('expected an error');
}

describe('applyOverlays()', () => {
  const getPet = {
    name: 'fetch_pet',
    description: 'Fetch one pet by its id. Use before changing a pet.',
    hide: ['fields'],
    fixed: { session: 'fixed-session' },
    defaults: { header_id: 'from-default' },
    constraints: { id: { maximum: 100 } },
    safety: 'write',
  };

  it('renames, describes, hides, fixes, defaults, constrains and reclassifies one tool; leaves the others alone', () => {
    const result = applyOverlays(catalog, overlays({ getPet }), 'services.pets.overlays');
    const tool = result.tools.find((t) => t.operation === 'getPet');
    expect(tool?.key).toBe('fetch_pet');
    expect(tool?.description).toBe(getPet.description);
    expect(tool?.inputSchema['properties']).toEqual({
      id: { type: 'integer', maximum: 100 },
      header_id: { type: 'string', default: 'from-default' },
      filter: { type: 'object' },
    });
    expect(tool?.inputSchema['required']).toEqual(['id']);
    expect(tool?.safety).toBe('write');
    expect(tool?.annotations.readOnlyHint).toBe(false);
    expect(bindCatalog(result, 'pets').byName.has('pets_fetch_pet')).toBe(true);
    expect(result.tools.filter((t) => t.operation !== 'getPet')).toEqual(
      catalog.tools.filter((t) => t.operation !== 'getPet'),
    );
    // The description's catalogue is shared and never changed.
    expect(catalog.tools.find((t) => t.operation === 'getPet')?.key).toBe('getPet');
  });

  it('the request carries the fixed value always and the default only when the call leaves it out', () => {
    const tool = applyOverlays(catalog, overlays({ getPet }), 'x').tools.find((t) => t.operation === 'getPet');
    if (tool === undefined) throw new Error('no tool');
    const plain = buildRequest(tool, 'https://pets.example/v1', { id: 7 });
    expect(plain.headers['cookie']).toBe('session=fixed-session');
    expect(plain.headers['id']).toBe('from-default');
    const given = buildRequest(tool, 'https://pets.example/v1', { id: 7, header_id: 'mine' });
    expect(given.headers['id']).toBe('mine');
  });

  it('fixes a property of an object body without touching the arguments object', () => {
    const result = applyOverlays(catalog, overlays({ 'create pet!': { fixed: { 'body.name': 'Rex' } } }), 'x');
    const tool = result.tools.find((t) => t.operation === 'create pet!');
    if (tool === undefined) throw new Error('no tool');
    expect(tool.inputSchema['properties']).toEqual({ body: { type: 'object', properties: {} } });
    const args = { body: {} };
    const request = buildRequest(tool, 'https://pets.example/v1', args);
    expect(request.body).toBe('name=Rex');
    expect(args).toEqual({ body: {} });
  });

  it('is memoised per catalogue and overlay content; no overlays is the catalogue itself', () => {
    expect(applyOverlays(catalog, overlays({ getPet }), 'a')).toBe(applyOverlays(catalog, overlays({ getPet }), 'b'));
    expect(applyOverlays(catalog, {}, 'a')).toBe(catalog);
  });

  it('an unknown operation or argument is config_invalid naming both, with a did-you-mean', () => {
    const operation = errorOf(() =>
      applyOverlays(catalog, overlays({ getPt: { name: 'x' } }), 'services.pets.overlays'),
    );
    expect(operation.code).toBe('config_invalid');
    expect(operation.details).toMatchObject({ path: 'services.pets.overlays.getPt', operation: 'getPt' });
    expect(operation.message).toContain("(did you mean 'getPet'?)");
    expect(operation.message).toContain('its operations: ');
    expect(operation.message).toContain('getPet');
    const argument = errorOf(() =>
      applyOverlays(catalog, overlays({ getPet: { hide: ['feilds'] } }), 'services.pets.overlays'),
    );
    expect(argument.details).toMatchObject({
      path: 'services.pets.overlays.getPet.hide[0]',
      operation: 'getPet',
      argument: 'feilds',
    });
    expect(argument.message).toContain("(did you mean 'fields'?)");
  });

  it('refuses a projection that is not JMESPath, naming its path', () => {
    expect(
      errorOf(() => applyOverlays(catalog, overlays({ getPet: { projection: 'items[?' } }), 'o')).details,
    ).toMatchObject({ path: 'o.getPet.projection', operation: 'getPet' });
  });

  it('refuses hiding a required argument and a name another tool has', () => {
    expect(
      errorOf(() => applyOverlays(catalog, overlays({ getPet: { hide: ['session'] } }), 'o')).details,
    ).toMatchObject({ path: 'o.getPet.hide[0]', argument: 'session' });
    expect(
      errorOf(() => applyOverlays(catalog, overlays({ getPet: { name: 'deletePet' } }), 'o')).details,
    ).toMatchObject({
      path: 'o.getPet.name',
    });
  });

  it('inspectOverlays() shows each overlaid tool before and after; config errors name the config path', () => {
    const config = parseConfig({
      tenants: [{ id: 't', services: [{ id: 'pets', openapi: fixture, overlays: { getPet } }] }],
    });
    expect(inspectOverlays(config)).toEqual([
      expect.objectContaining({
        service: 'pets',
        operation: 'getPet',
        before: expect.objectContaining({
          name: 'pets_getPet',
          safety: 'safe',
          arguments: ['id', 'header_id', 'fields', 'filter', 'session'],
        }),
        after: expect.objectContaining({
          name: 'pets_fetch_pet',
          safety: 'write',
          arguments: ['id', 'header_id', 'filter'],
        }),
      }),
    ]);
    const bad = parseConfig({
      tenants: [{ id: 't', services: [{ id: 'pets', openapi: fixture, overlays: { getPt: {} } }] }],
    });
    expect(errorOf(() => inspectOverlays(bad)).details['path']).toBe('tenants[0].services[0].overlays.getPt');
  });
});
