import { describe, expect, it } from 'vitest';
import { builtInCatalogRoot, importDescription, loadCatalog, packPath } from '../../src/catalog/index.ts';

// Breaker review of issue 11, finding 1: pack operations that delete, trash, cancel or refund are POSTs; classed
// `write` by their method, the default `approval: destructive` never stopped them (SC-05) and clients saw
// destructiveHint: false.
const irreversible: [pack: string, operation: string][] = [
  ['slack', 'delete_message'],
  ['dropbox', 'delete'],
  ['gmail', 'trash_message'],
  ['shopify', 'cancel_order'],
  ['stripe', 'refund_payment'],
];

describe('breaker11 finding 1: irreversible POSTs of the curated packs are destructive', () => {
  it.each(irreversible)('%s %s is destructive', (pack, operation) => {
    const tool = loadCatalog(packPath(builtInCatalogRoot, pack)).tools.find((t) => t.operation === operation);
    expect(tool?.safety).toBe('destructive');
    expect(tool?.annotations.destructiveHint).toBe(true);
  });
});

describe('x-gatehouse-safety', () => {
  const describeWith = (method: string, safety: string) =>
    importDescription({
      source: 'inline',
      text: JSON.stringify({
        openapi: '3.1.0',
        info: { title: 't', version: '1' },
        servers: [{ url: 'https://api.example.com' }],
        paths: {
          '/x': {
            [method]: { operationId: 'op', 'x-gatehouse-safety': safety, responses: { 200: { description: 'ok' } } },
          },
        },
      }),
    }).tools[0];

  it('makes a tool stricter than its method (a POST that deletes)', () => {
    expect(describeWith('post', 'destructive')?.safety).toBe('destructive');
    expect(describeWith('get', 'write')?.safety).toBe('write');
  });

  it('never makes one laxer: a description cannot turn a write or a DELETE into a read', () => {
    expect(describeWith('post', 'safe')?.safety).toBe('write');
    expect(describeWith('delete', 'write')?.safety).toBe('destructive');
    expect(describeWith('delete', 'nonsense')?.safety).toBe('destructive');
  });
});
