import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { importDescription } from '../import-description.ts';

const petstore = importDescription({
  text: readFileSync(resolve(import.meta.dirname, '..', 'fixtures', 'petstore.yaml'), 'utf8'),
  source: 'petstore.yaml',
});
const swagger = importDescription({
  text: readFileSync(resolve(import.meta.dirname, '..', 'fixtures', 'swagger2.yaml'), 'utf8'),
  source: 'swagger2.yaml',
});

describe('Security Requirement Object', () => {
  const cases = [
    { catalog: petstore, key: 'getPet', want: [['pets:read']], why: 'global requirement applies' },
    { catalog: petstore, key: 'replacePet', want: [['pets:write']], why: 'operation overrides; apiKey adds nothing' },
    { catalog: petstore, key: 'deletePet', want: [], why: 'empty operation security means none' },
    { catalog: swagger, key: 'files_upload', want: [['files:write']], why: 'Swagger 2 oauth2 scopes' },
    { catalog: swagger, key: 'files_update', want: [], why: 'basic auth carries no scope' },
  ];
  for (const given of cases) {
    it(`${given.key}: ${given.why}`, () => {
      expect(given.catalog.tools.find((tool) => tool.key === given.key)?.scopes).toEqual(given.want);
    });
  }

  it('keeps alternatives as OR of AND lists and treats a scope-less OAuth alternative as no scope', () => {
    const yaml = (security: string) => `openapi: 3.0.0
info: { title: t }
components:
  securitySchemes:
    a: { type: oauth2, flows: {} }
    b: { type: openIdConnect, openIdConnectUrl: https://x.example }
paths:
  /x:
    get:
      security: ${security}
      responses: { '200': { description: ok } }
`;
    const scopesOf = (security: string) => importDescription({ text: yaml(security), source: 's' }).tools[0]?.scopes;
    expect(scopesOf('[{ a: [r, w], b: [openid] }, { a: [admin] }]')).toEqual([['r', 'w', 'openid'], ['admin']]);
    expect(scopesOf('[{ a: [r] }, { a: [] }]')).toEqual([]);
  });
});
