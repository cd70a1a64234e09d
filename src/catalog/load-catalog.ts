import { createHash } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';
import { type Catalog, GatehouseError } from '../core/index.ts';
import { type ImportOptions, importDescriptionWithId } from './import-description.ts';
import { isBuiltInPack } from './providers/load-providers.ts';

const byContent = new Map<string, Catalog>();
/**
 * The content id last read at a path, with the file's size and modification time then: a tenant whose service
 * names a file already read (and unchanged) skips reading and hashing it again. With 13 MB descriptions that is
 * ~100 ms per tenant, which made a 1,000-tenant start-up take minutes.
 */
const byPath = new Map<string, { readonly size: number; readonly mtimeMs: number; readonly id: string }>();

/**
 * Reads a description file and imports it, memoised by the SHA-256 of its content: every tenant whose service
 * points at the same description (same bytes, any path) and options shares one Catalog object. The format is
 * detected; `options.format` refuses a description of another format. A curated pack shipped with Gatehouse
 * (`isBuiltInPack`) is imported with `trustSafetyMarks`, any other file without.
 * Throws `description_invalid` when the file cannot be read or is not a description.
 */
export function loadCatalog(path: string, given: ImportOptions = {}): Catalog {
  const { trustSafetyMarks: _ignored, ...rest } = given;
  const options: ImportOptions = isBuiltInPack(path) ? { ...rest, trustSafetyMarks: true } : rest;
  const seen = byPath.get(path);
  if (seen !== undefined) {
    const stat = statSync(path, { throwIfNoEntry: false });
    const known =
      stat && stat.size === seen.size && stat.mtimeMs === seen.mtimeMs
        ? byContent.get(memoKeyOf(seen.id, options))
        : undefined;
    if (known !== undefined) return known;
  }
  let bytes: Buffer;
  let stat: { size: number; mtimeMs: number } | undefined;
  try {
    stat = statSync(path);
    bytes = readFileSync(path);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const why =
      code === 'ENOENT'
        ? 'no such file'
        : code === 'EACCES'
          ? 'permission denied'
          : code === 'EISDIR'
            ? 'it is a folder'
            : code;
    throw new GatehouseError(
      'description_invalid',
      `Description file ${path} cannot be read${why === undefined ? '' : ` (${why})`}`,
      { source: path, ...(code === undefined ? {} : { cause: code }) },
    );
  }
  // Hashing the bytes once (not the decoded string, not twice) saves ~100 ms on GitHub's 13 MB description.
  const id = createHash('sha256').update(bytes).digest('hex');
  // Size and time as stat saw them before the read: a file written during the read is read again next time.
  if (stat.size === bytes.length) byPath.set(path, { size: stat.size, mtimeMs: stat.mtimeMs, id });
  return importOnce(id, options, path, () => bytes.toString('utf8'));
}

/**
 * A description already in memory (stored through the admin API) imported once per content id and options, shared
 * with every other service of the same content, like `loadCatalog`.
 */
export function loadCatalogText(id: string, text: string, source: string, given: ImportOptions = {}): Catalog {
  const { trustSafetyMarks: _ignored, ...options } = given;
  return importOnce(id, options, source, () => text);
}

/** The catalogue of content `id` with `options`, imported on first use; `text` is decoded only then. */
function importOnce(id: string, options: ImportOptions, source: string, text: () => string): Catalog {
  const memoKey = memoKeyOf(id, options);
  const known = byContent.get(memoKey);
  if (known !== undefined) return known;
  const catalog = importDescriptionWithId({ text: text(), source, ...options }, id);
  byContent.set(memoKey, catalog);
  return catalog;
}

/** Catalogues are shared by content and by the options that shape them. */
function memoKeyOf(id: string, options: ImportOptions): string {
  return `${id}:${options.format ?? ''}:${options.selectionDepth ?? ''}:${options.trustSafetyMarks === true}`;
}
