import { copyFileSync, mkdtempSync, readFileSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { expect, it } from 'vitest';
import type { GatehouseError } from '../core/index.ts';
import { importDescription } from './import-description.ts';
import { loadCatalog } from './load-catalog.ts';

const fixture = resolve(import.meta.dirname, 'fixtures', 'petstore.yaml');

it('loadCatalog() shares one Catalog between files with the same content, with the same id as importDescription', () => {
  const copy = join(mkdtempSync(join(tmpdir(), 'catalog-')), 'copy.yaml');
  copyFileSync(fixture, copy);
  const first = loadCatalog(fixture);
  expect(loadCatalog(copy)).toBe(first);
  expect(importDescription({ text: readFileSync(fixture, 'utf8'), source: 'x' }).id).toBe(first.id);
});

it('loadCatalog() refuses an unreadable file with description_invalid', () => {
  try {
    loadCatalog(join(tmpdir(), 'no-such-description.yaml'));
    expect.unreachable();
  } catch (error) {
    expect((error as GatehouseError).code).toBe('description_invalid');
  }
});

it('loadCatalog() reads a file once while it is unchanged, and again once it changes', () => {
  const dir = mkdtempSync(join(tmpdir(), 'catalog-'));
  const path = join(dir, 'api.yaml');
  copyFileSync(fixture, path);
  const first = loadCatalog(path);
  expect(loadCatalog(path)).toBe(first);
  const edited = readFileSync(fixture, 'utf8').replace('title:', 'description: edited\n  title:');
  writeFileSync(path, edited);
  utimesSync(path, new Date(), new Date(Date.now() + 5_000));
  const second = loadCatalog(path);
  expect(second).not.toBe(first);
  expect(second.id).not.toBe(first.id);
});
