import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormatsModule from 'ajv-formats';
import { afterAll, describe, expect, it } from 'vitest';
import { bindCatalog, loadCatalog, toolNameMax } from '../../src/catalog/index.ts';
import { parseConfig } from '../../src/core/index.ts';
import { inspectConfig } from '../../src/gateway/index.ts';
import { listPackIds, readPack } from '../support/read-pack.ts';

const addFormats = addFormatsModule as unknown as (ajv: Ajv2020) => Ajv2020;

/** The curated packs issue 11 asks for; each must exist. */
const expectedPacks = [
  'airtable',
  'asana',
  'box',
  'confluence',
  'discord',
  'dropbox',
  'figma',
  'github',
  'gmail',
  'google-calendar',
  'google-drive',
  'hubspot',
  'intercom',
  'jira',
  'linear',
  'microsoft-teams',
  'notion',
  'outlook',
  'salesforce',
  'shopify',
  'slack',
  'spotify',
  'stripe',
  'trello',
  'twilio',
  'zendesk',
  'zoom',
];
const listBudget = 2_500;
const operationIdPattern = /^[a-z][a-z0-9]*(?:_[a-z0-9]+)*$/;

/** Per pack, how many tools keep their output schema within the bound (printed after the run, for the docs). */
const schemaCounts = new Map<string, string>();

/**
 * The `inspectConfig` report of a pack served as `provider:` serves it: structured output on (the default), every
 * tool in one write toolset, the list bound the pack's.
 */
function inspectPack(id: string, file: string) {
  const config = parseConfig(
    {
      tenants: [
        {
          id: 't',
          services: [{ id, openapi: file, baseUrl: 'https://upstream.example' }],
          toolsets: [
            {
              id: 'all',
              tools: ['*'],
              access: 'write',
              discovery: { maxListTokens: listBudget },
              results: { handles: { enabled: false } },
            },
          ],
        },
      ],
    },
    { env: {}, baseDir: process.cwd() },
  );
  return inspectConfig(config)[0];
}

describe('curated tool packs', () => {
  afterAll(() => {
    if (process.env['PRINT_PACK_SCHEMAS'] !== undefined)
      console.log([...schemaCounts].map((e) => e.join(': ')).join('\n'));
  });

  it('there are at least 25 packs, all of them from the issue list', () => {
    const ids = listPackIds();
    expect(ids.length).toBeGreaterThanOrEqual(25);
    expect(ids.filter((id) => !expectedPacks.includes(id))).toEqual([]);
  });

  it('a pack small enough keeps every output schema within the bound (Airtable: 10 tools)', () => {
    const report = inspectPack('airtable', readPack('airtable').file);
    expect(report?.discovery).toBe(false);
    expect(report?.tools.length).toBeGreaterThan(0);
    expect(report?.tools.filter((tool) => !tool.outputSchema).map((tool) => tool.name)).toEqual([]);
    expect(report?.notes).toEqual([]);
    expect(report?.listTokens).toBeLessThanOrEqual(listBudget);
  });

  for (const id of listPackIds()) {
    describe(id, () => {
      const pack = readPack(id);

      it('imports without problems, with 10-30 tools named {pack}_{operationId} within 64 characters', () => {
        const catalog = loadCatalog(pack.file);
        expect(catalog.problems).toEqual([]);
        expect(catalog.tools.length).toBeGreaterThanOrEqual(10);
        expect(catalog.tools.length).toBeLessThanOrEqual(30);
        const bound = bindCatalog(catalog, id);
        for (const { name, tool } of bound.tools) {
          expect(tool.key, name).toMatch(operationIdPattern);
          expect(name).toBe(`${id}_${tool.key}`);
          expect(name.length).toBeLessThanOrEqual(toolNameMax);
        }
      });

      it('every operation has a summary, a description for a model, and explicit security naming declared scopes', () => {
        const schemes = ((pack.doc['components'] as Record<string, unknown> | undefined)?.['securitySchemes'] ??
          {}) as Record<string, { type: string; flows?: Record<string, { scopes?: Record<string, string> }> }>;
        expect(Object.keys(schemes).length).toBeGreaterThan(0);
        const declared = new Map(
          Object.entries(schemes).map(([name, scheme]) => [
            name,
            new Set(Object.values(scheme.flows ?? {}).flatMap((flow) => Object.keys(flow.scopes ?? {}))),
          ]),
        );
        const root = pack.doc['security'];
        for (const operation of pack.operations) {
          const where = `${id} ${operation.operationId}`;
          expect(String(operation.raw['summary'] ?? '').length, where).toBeGreaterThan(5);
          expect(String(operation.raw['description'] ?? '').length, where).toBeGreaterThanOrEqual(20);
          const security = (operation.raw['security'] ?? root) as Record<string, string[]>[] | undefined;
          expect(Array.isArray(security), `${where}: security`).toBe(true);
          for (const requirement of security ?? []) {
            for (const [scheme, scopes] of Object.entries(requirement)) {
              expect(declared.has(scheme), `${where}: scheme ${scheme}`).toBe(true);
              for (const scope of scopes)
                expect(declared.get(scheme)?.has(scope), `${where}: scope ${scope}`).toBe(true);
            }
          }
        }
      });

      it('every pattern is a valid u-flag regular expression (the importer drops invalid ones silently)', () => {
        const patterns: string[] = [];
        const collect = (node: unknown): void => {
          if (Array.isArray(node)) node.forEach(collect);
          else if (typeof node === 'object' && node !== null) {
            for (const [key, value] of Object.entries(node)) {
              if (key === 'pattern' && typeof value === 'string') patterns.push(value);
              else collect(value);
            }
          }
        };
        collect(pack.doc);
        for (const pattern of patterns) expect(() => new RegExp(pattern, 'u'), pattern).not.toThrow();
      });

      it('every input schema compiles (Ajv 2020, formats)', () => {
        const ajv = addFormats(new Ajv2020({ strict: false, logger: false }));
        for (const { name, tool } of bindCatalog(loadCatalog(pack.file), id).tools) {
          expect(() => ajv.compile(tool.inputSchema as object), name).not.toThrow();
        }
      });

      it(`tools/list of the pack is at most ${listBudget} o200k tokens, output schemas dropped largest first to fit`, () => {
        const report = inspectPack(id, pack.file);
        expect(report?.tools.length).toBe(pack.operations.length);
        expect(report?.discovery, 'listed directly, not through discovery').toBe(false);
        expect(report?.listTokens).toBeLessThanOrEqual(listBudget);
        const declaring = report?.tools.filter((tool) => tool.outputSchema).length ?? 0;
        schemaCounts.set(
          id,
          `${declaring}/${report?.tools.length} tools keep an output schema, ${report?.listTokens} tokens`,
        );
      });
    });
  }
});
