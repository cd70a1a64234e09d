import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { parse as parseYaml } from 'yaml';
import type { z } from 'zod';
import { formatPath, GatehouseError, knownFieldsAt, suggestFieldName } from '../../core/index.ts';
import { type Provider, providerSchema } from './provider-schema.ts';

/** The provider catalogue: every provider file of one folder, validated, frozen, sorted by id. */
export interface ProviderCatalogue {
  /** The `catalog/` folder (holding `providers/` and `packs/`). */
  readonly root: string;
  readonly providers: readonly Provider[];
  readonly byId: ReadonlyMap<string, Provider>;
}

/** The `catalog/` folder shipped with Gatehouse (same depth from `src/` and from the built `dist/`). */
export const builtInCatalogRoot = resolve(import.meta.dirname, '..', '..', '..', 'catalog');

const loaded = new Map<string, ProviderCatalogue>();

/**
 * Reads and validates every `providers/*.yaml` under `root` (default: the built-in catalogue), once per process:
 * every tenant shares the returned object. Throws `config_invalid` listing every problem as
 * `catalog/providers/<file>: <field path>: <what is wrong>` (an unknown field with a did-you-mean); `details.file`
 * and `details.path` name the first.
 */
export function loadProviders(root: string = builtInCatalogRoot): ProviderCatalogue {
  const known = loaded.get(root);
  if (known !== undefined) return known;
  const dir = join(root, 'providers');
  let files: string[];
  try {
    files = readdirSync(dir)
      .filter((f) => f.endsWith('.yaml'))
      .sort();
  } catch (error) {
    throw new GatehouseError(
      'config_invalid',
      `Provider catalogue ${dir} cannot be read (${(error as NodeJS.ErrnoException).code ?? 'error'})`,
      { file: dir },
    );
  }
  const problems: { file: string; path: string; message: string }[] = [];
  const providers: Provider[] = [];
  for (const file of files) {
    const result = parseProviderFile(readFileSync(join(dir, file), 'utf8'), `providers/${file}`, root);
    if ('problems' in result) problems.push(...result.problems);
    else providers.push(result.provider);
  }
  if (problems.length > 0) {
    const first = problems[0] as (typeof problems)[number];
    throw new GatehouseError(
      'config_invalid',
      `Invalid provider catalogue (${problems.length} problem${problems.length === 1 ? '' : 's'}):\n${problems
        .map((p) => `  catalog/${p.file}: ${p.path || '(top level)'}: ${p.message}`)
        .join('\n')}`,
      { file: `catalog/${first.file}`, path: first.path },
    );
  }
  const catalogue: ProviderCatalogue = Object.freeze({
    root,
    providers: Object.freeze(providers),
    byId: new Map(providers.map((p) => [p.id, p])),
  });
  loaded.set(root, catalogue);
  return catalogue;
}

export type ProviderFileResult =
  | { readonly provider: Provider }
  | { readonly problems: readonly { file: string; path: string; message: string }[] };

/**
 * Validates one provider file's text: YAML (no duplicate keys), the schema, the id equal to the file name, and
 * the tool pack present under `root` when the file names one. Never throws.
 */
export function parseProviderFile(text: string, file: string, root: string = builtInCatalogRoot): ProviderFileResult {
  let raw: unknown;
  try {
    raw = parseYaml(text, { uniqueKeys: true });
  } catch (error) {
    return { problems: [{ file, path: '', message: `invalid YAML: ${(error as Error).message.split('\n')[0]}` }] };
  }
  const result = providerSchema.safeParse(raw);
  if (!result.success) {
    return {
      problems: result.error.issues.map((issue) => ({
        file,
        path: formatPath(issue.path),
        message: describeIssue(issue),
      })),
    };
  }
  const provider = deepFreeze(result.data);
  const problems: { file: string; path: string; message: string }[] = [];
  const expectedId = basename(file).replace(/\.yaml$/, '');
  if (provider.id !== expectedId) {
    problems.push({ file, path: 'id', message: `expected '${expectedId}' (the file name)` });
  }
  const pack = provider.description?.pack;
  if (pack !== undefined && !existsSync(packPath(root, pack))) {
    problems.push({ file, path: 'description.pack', message: `no pack file catalog/packs/${pack}.openapi.yaml` });
  }
  return problems.length > 0 ? { problems } : { provider };
}

/** Where a curated tool pack lives. */
export function packPath(root: string, pack: string): string {
  return join(root, 'packs', `${pack}.openapi.yaml`);
}

const builtInPacks = join(builtInCatalogRoot, 'packs');

/**
 * Whether `path` is one of the curated packs shipped with Gatehouse (`catalog/packs/*.openapi.yaml` of the
 * built-in catalogue): reviewed and in the repository, so their `x-gatehouse-safety: safe` marks are trusted. A copy
 * elsewhere, or a pack of another catalogue root, is not.
 */
export function isBuiltInPack(path: string): boolean {
  const absolute = resolve(path);
  return dirname(absolute) === builtInPacks && absolute.endsWith('.openapi.yaml');
}

function describeIssue(issue: z.core.$ZodIssue): string {
  if (issue.code === 'unrecognized_keys') {
    const known = knownFieldsAt(providerSchema, issue.path);
    const named = issue.keys.map((key) => {
      const suggestion = suggestFieldName(key, known);
      return suggestion === undefined ? `'${key}'` : `'${key}' (did you mean '${suggestion}'?)`;
    });
    return `unknown field${issue.keys.length > 1 ? 's' : ''} ${named.join(', ')}`;
  }
  return issue.message;
}

function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const child of Object.values(value)) deepFreeze(child);
  }
  return value;
}
