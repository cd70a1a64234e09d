#!/usr/bin/env node
// In a checkout (src/ present) the TypeScript sources run through tsx's loader, so an old build never shadows an
// edit; an installed package holds only the compiled dist/ and needs no TypeScript loader.
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const source = new URL('../src/main.ts', import.meta.url);
if (existsSync(fileURLToPath(source))) {
  const { register } = await import('tsx/esm/api');
  register();
  await import(source.href);
} else {
  await import(new URL('../dist/main.js', import.meta.url).href);
}
