import { readdirSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseDocument } from 'yaml';

/**
 * Every YAML example of README.md and docs/ is what a newcomer pastes into gatehouse.yaml: it must at least be YAML.
 * An unquoted `${env:NAME}` inside a flow mapping (`auth: { token: ${env:X} }`) is not: `{` opens another mapping.
 */
const root = resolve(import.meta.dirname, '../..');
const pages = [
  'README.md',
  ...readdirSync(resolve(root, 'docs'))
    .filter((f) => f.endsWith('.md'))
    .map((f) => `docs/${f}`),
];
const examples = pages.flatMap((page) =>
  [...readFileSync(resolve(root, page), 'utf8').matchAll(/```ya?ml\n([\s\S]*?)```/g)].map(
    (match, i) => [`${page} #${i}`, match[1] as string] as const,
  ),
);
/** Inline code spans that show a flow mapping with an env reference, e.g. `{ provider: discord, apiKey: "${env:X}" }`. */
const spans = pages.flatMap((page) =>
  [...readFileSync(resolve(root, page), 'utf8').matchAll(/`(\{[^`\n]*\$\{env:[^`\n]*\})`/g)].map(
    (match) => [page, match[1] as string] as const,
  ),
);

describe('YAML examples in the docs', () => {
  it('has examples', () => {
    expect(examples.length).toBeGreaterThan(10);
  });

  it.each(examples)('docs_flow_mapping_env_unquoted: %s parses as YAML', (_, text) => {
    const document = parseDocument(text);
    expect(document.errors.map((e) => e.message)).toEqual([]);
  });

  it.each(spans)('docs_flow_mapping_env_unquoted: an inline flow mapping of %s parses: %s', (_, text) => {
    expect(parseDocument(`x: ${text}`).errors.map((e) => e.message)).toEqual([]);
  });
});
