import { describe, expect, it } from 'vitest';
import { loadCatalog } from '../load-catalog.ts';
import { loadProviders, packPath } from './load-providers.ts';

const catalogue = loadProviders();
const withPack = catalogue.providers.filter((p) => p.description?.pack !== undefined);

describe('providers and their curated packs', () => {
  it.each(withPack.map((p) => [p.id, p] as const))(
    '%s: the pack imports cleanly and asks only for scopes the provider lists',
    (_id, provider) => {
      const catalog = loadCatalog(packPath(catalogue.root, provider.description?.pack as string));
      expect(catalog.problems).toEqual([]);
      expect(catalog.tools.length).toBeGreaterThan(0);
      if (provider.auth.type !== 'oauth2') return;
      const known = new Set(provider.auth.scopes.map((s) => s.name));
      const unknown = catalog.tools.flatMap((tool) =>
        tool.scopes
          .flat()
          .filter((scope) => !known.has(scope))
          .map((scope) => `${tool.key}: ${scope}`),
      );
      expect(unknown).toEqual([]);
    },
  );
});
