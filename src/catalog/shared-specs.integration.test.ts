import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormatsModule from 'ajv-formats';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { parseBlockYaml } from './_block-yaml.ts';
import { bindCatalog, importDescription } from './index.ts';

const repoRoot = resolve(import.meta.dirname, '..', '..');
const specsDir = resolve(repoRoot, '..', 'shared', 'specs');
const present = existsSync(specsDir);
if (!present) console.warn(`shared-specs tests skipped: ${specsDir} not found (a fresh clone has no ../shared)`);

const addFormats = addFormatsModule as unknown as (ajv: Ajv2020) => Ajv2020;
const specs = [
  { file: 'github.api.github.com.json', service: 'github', compileAll: true },
  { file: 'stripe.spec3.2023-09-12.yaml', service: 'stripe', compileAll: true },
  { file: 'slack.web_openapi_v2.json', service: 'slack', compileAll: true },
  { file: 'discord.openapi.json', service: 'discord', compileAll: true },
  { file: 'twilio.api_v2010.json', service: 'twilio', compileAll: false },
  { file: 'box.openapi.json', service: 'box', compileAll: false },
  { file: 'spotify.fixed-open-api.yml', service: 'spotify', compileAll: true },
];
const namePattern = /^[a-zA-Z0-9_-]{1,64}$/;

describe.skipIf(!present)('shared API descriptions', () => {
  for (const spec of specs) {
    it(`imports ${spec.file}: valid unique names, every (or every 5th) input schema compiles with Ajv 2020`, () => {
      const text = readFileSync(resolve(specsDir, spec.file), 'utf8');
      const catalog = importDescription({ text, source: spec.file });
      expect(catalog.tools.length).toBeGreaterThan(50);
      const bound = bindCatalog(catalog, spec.service);
      const names = bound.tools.map((tool) => tool.name);
      expect(names.filter((name) => !namePattern.test(name))).toEqual([]);
      expect(new Set(names).size).toBe(names.length);
      const ajv = addFormats(new Ajv2020({ strict: false, logger: false }));
      const failures: string[] = [];
      bound.tools.forEach(({ name, tool }, index) => {
        if (!spec.compileAll && index % 5 !== 0) return;
        try {
          ajv.compile(tool.inputSchema as object);
        } catch (error) {
          failures.push(`${name}: ${(error as Error).message}`);
        }
      });
      expect(failures).toEqual([]);
    });
  }

  for (const file of ['stripe.spec3.2023-09-12.yaml', 'spotify.fixed-open-api.yml']) {
    it(`reads ${file} with the fast YAML reader exactly as yaml does`, () => {
      const text = readFileSync(resolve(specsDir, file), 'utf8');
      const fast = parseBlockYaml(text);
      expect(fast).not.toBeUndefined();
      expect(isDeepStrictEqual(fast, parse(text, { version: '1.2', merge: false, uniqueKeys: false }))).toBe(true);
    });
  }

  it('S4 shape: GitHub over-long operation ids are shortened, Slack formData becomes a form body', () => {
    const github = importDescription({
      text: readFileSync(resolve(specsDir, 'github.api.github.com.json'), 'utf8'),
      source: 'github',
    });
    expect(github.tools).toHaveLength(1223);
    expect(bindCatalog(github, 'github').tools.filter((tool) => tool.name.length === 64).length).toBeGreaterThan(10);
    const slack = importDescription({
      text: readFileSync(resolve(specsDir, 'slack.web_openapi_v2.json'), 'utf8'),
      source: 'slack',
    });
    expect(slack.tools.some((tool) => tool.request.body?.mediaType === 'application/x-www-form-urlencoded')).toBe(true);
    expect(slack.tools.some((tool) => tool.scopes.length > 0)).toBe(true);
  });
});
