import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const root = join(import.meta.dirname, '..', '..');
const idPattern = /\b(?:AU|CA|CB|CP|FD|FL|FT|IA|LG|MC|MT|OA|RF|RL|RS|SC|ST|UP)-\d{2}\b/g;

function sourceFiles(dir: string): string[] {
  return readdirSync(join(root, dir), { withFileTypes: true, recursive: true })
    .filter((entry) => entry.isFile() && /\.(ts|js|md|yaml)$/.test(entry.name))
    .map((entry) => join(entry.parentPath, entry.name));
}

describe('docs/requirements.md', () => {
  it('defines every requirement id cited in src/, test/, bench/ and docs/', () => {
    const defined = new Set(
      [...readFileSync(join(root, 'docs', 'requirements.md'), 'utf8').matchAll(/^\| ([A-Z]{2}-\d{2}) \|/gm)].map(
        (match) => match[1],
      ),
    );
    const undefinedIds = new Map<string, string>();
    for (const file of [
      ...sourceFiles('src'),
      ...sourceFiles('test'),
      ...sourceFiles('bench'),
      ...sourceFiles('docs'),
    ]) {
      for (const [id] of readFileSync(file, 'utf8').matchAll(idPattern)) {
        if (!defined.has(id) && !undefinedIds.has(id)) undefinedIds.set(id, file.slice(root.length + 1));
      }
    }
    expect(Object.fromEntries(undefinedIds)).toEqual({});
    expect(defined.size).toBeGreaterThan(60);
  });
});
