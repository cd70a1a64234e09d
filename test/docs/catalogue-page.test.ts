import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { cataloguePagePath, renderCataloguePage } from '../../scripts/generate-catalogue-docs.ts';
import { loadProviders } from '../../src/catalog/index.ts';

describe('docs/catalogue.md', () => {
  it('is what scripts/generate-catalogue-docs.ts makes of the catalogue today (run npm run docs:catalogue)', () => {
    expect(readFileSync(cataloguePagePath, 'utf8')).toBe(renderCataloguePage());
  });

  it('has a row per provider', () => {
    const rows = renderCataloguePage()
      .split('\n')
      .filter((line) => line.startsWith('| ['));
    expect(rows.length).toBe(loadProviders().providers.length);
  });
});
