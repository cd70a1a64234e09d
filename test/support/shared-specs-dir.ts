import { existsSync } from 'node:fs';
import { resolve } from 'node:path';

/**
 * The shared real API descriptions: `GATEHOUSE_SPECS_DIR`, else `../shared/specs` beside the repository (a git
 * worktree elsewhere has no `../shared`, a fresh clone has none at all).
 */
export const sharedSpecsDir =
  process.env['GATEHOUSE_SPECS_DIR'] ?? resolve(import.meta.dirname, '..', '..', '..', 'shared', 'specs');

/** The path of one shared description, or undefined (with a warning naming it) when it is not there. */
export function sharedSpec(file: string): string | undefined {
  const path = resolve(sharedSpecsDir, file);
  if (existsSync(path)) return path;
  console.warn(`tests over ${file} skipped: ${path} not found (set GATEHOUSE_SPECS_DIR to the shared specs folder)`);
  return undefined;
}
