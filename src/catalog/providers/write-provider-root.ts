import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * For tests: a catalogue folder in a temporary directory holding one provider, `zen`, whose file is `providerYaml`,
 * and an empty pack for it. Returns the folder, to pass as the expander's catalogue root.
 */
export function writeProviderRoot(providerYaml: string): string {
  const root = mkdtempSync(join(tmpdir(), 'providers-'));
  mkdirSync(join(root, 'providers'));
  mkdirSync(join(root, 'packs'));
  writeFileSync(
    join(root, 'packs', 'zen.openapi.yaml'),
    'openapi: 3.1.0\ninfo: { title: Zen, version: "1" }\npaths: {}\n',
  );
  writeFileSync(join(root, 'providers', 'zen.yaml'), providerYaml);
  return root;
}
