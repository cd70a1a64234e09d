import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../core/index.ts';
import { inspectConfig } from './inspect-config.ts';

const petstore = fileURLToPath(new URL('../catalog/fixtures/petstore.yaml', import.meta.url));

describe('inspectConfig', () => {
  it('warns about a glob that matches no tool of the tenant, in every field that takes tool globs', () => {
    const config = parseConfig(
      {
        tenants: [
          {
            id: 'acme',
            services: [{ id: 'pets', openapi: petstore, baseUrl: 'https://pets.example.com' }],
            toolsets: [
              {
                id: 'support',
                tools: ['pets_*', 'petz_*'],
                exclude: ['pets_deletPet'],
                access: 'write',
                approval: ['pets_nothing'],
              },
            ],
          },
        ],
      },
      { env: {} },
    );
    const [report] = inspectConfig(config);
    expect(report?.problems).toEqual([
      "tools: 'petz_*' matches no tool of the tenant, so it has no effect",
      "exclude: 'pets_deletPet' matches no tool of the tenant, so it has no effect",
      "approval: 'pets_nothing' matches no tool of the tenant, so it has no effect",
    ]);
  });
});
