import { describe, expect, it } from 'vitest';
import { loadProviders } from '../../src/catalog/index.ts';
import { readPack } from '../support/read-pack.ts';

/**
 * A provider file and its tool pack must agree: the config expands `{ provider: x }` into the provider's base URL,
 * auth and scope list with the pack's operations, so a pack path under a different server, or an operation whose
 * scope the provider does not list (the config then refuses it as unknown), breaks the service.
 */
const withPacks = loadProviders().providers.filter((p) => p.description?.pack !== undefined);

describe('providers with a curated tool pack', () => {
  it('there are curated packs to check', () => {
    expect(withPacks.length).toBeGreaterThan(0);
  });

  for (const provider of withPacks) {
    const pack = readPack(provider.description?.pack as string);

    it(`${provider.id}: the pack's server is the provider's base URL (variable names aside)`, () => {
      const servers = (pack.doc['servers'] ?? []) as { url?: string }[];
      const shape = (url: string | undefined) => url?.replace(/\{[^{}]*\}/g, '{}');
      expect(shape(servers[0]?.url)).toBe(shape(provider.baseUrl));
    });

    it(`${provider.id}: every scope an operation needs is one the provider lists`, () => {
      const listed = new Set(provider.auth.type === 'oauth2' ? provider.auth.scopes.map((s) => s.name) : []);
      const unknown: string[] = [];
      for (const operation of pack.operations) {
        const requirements = (operation.raw['security'] ?? pack.doc['security'] ?? []) as Record<string, string[]>[];
        for (const scopes of requirements.flatMap((r) => Object.values(r))) {
          for (const scope of scopes) if (!listed.has(scope)) unknown.push(`${operation.operationId}: ${scope}`);
        }
      }
      expect(unknown).toEqual([]);
    });
  }
});
