import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { expect, it } from 'vitest';
import { importDescription } from './import-description.ts';
import { previewCatalog } from './preview-catalog.ts';

it('previewCatalog() lists name, method, path, safety, scopes and description per tool', () => {
  const text = readFileSync(resolve(import.meta.dirname, 'fixtures', 'petstore.yaml'), 'utf8');
  const rows = previewCatalog(importDescription({ text, source: 'p' }), 'pets');
  expect(rows[0]).toEqual({
    name: 'pets_getPet',
    method: 'GET',
    path: '/pets/{id}',
    safety: 'safe',
    scopes: [['pets:read']],
    description: expect.stringContaining('Get a pet'),
  });
  expect(rows.map((row) => row.name)).toEqual(['pets_getPet', 'pets_replacePet', 'pets_deletePet', 'pets_create_pet']);
});
