import { readFileSync } from 'node:fs';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { describe, expect, it } from 'vitest';
import { sharedSpec } from '../../../test/support/shared-specs-dir.ts';
import { GatehouseError } from '../../core/index.ts';
import { bindCatalog } from '../bind-catalog.ts';
import { importDescription } from '../import-description.ts';
import { toMethodKey } from './rest-description.ts';

const document = {
  kind: 'discovery#restDescription',
  discoveryVersion: 'v1',
  name: 'mail',
  title: 'Mail API',
  rootUrl: 'https://mail.example.com/',
  servicePath: 'mail/v1/',
  parameters: { key: { type: 'string', location: 'query' }, alt: { type: 'string', location: 'query' } },
  schemas: {
    Message: {
      id: 'Message',
      type: 'object',
      properties: {
        id: { type: 'string', readOnly: true },
        raw: { type: 'string', format: 'byte', annotations: { required: ['mail.users.messages.send'] } },
        labels: { type: 'array', items: { $ref: 'Label' } },
      },
    },
    Label: { id: 'Label', type: 'object', properties: { name: { type: 'string' } } },
  },
  resources: {
    users: {
      resources: {
        messages: {
          methods: {
            list: {
              id: 'mail.users.messages.list',
              httpMethod: 'GET',
              path: '{userId}/messages',
              description: 'Lists the messages. Sorted by date.',
              parameters: {
                userId: { type: 'string', location: 'path', required: true, default: 'me' },
                labelIds: { type: 'string', location: 'query', repeated: true },
                maxResults: { type: 'integer', location: 'query', format: 'uint32', default: '100', maximum: '500' },
                order: {
                  type: 'string',
                  location: 'query',
                  enum: ['asc', 'desc'],
                  enumDescriptions: ['Old first', 'New first'],
                  description: 'Order.',
                },
              },
              scopes: ['https://mail.example.com/auth/read', 'https://mail.example.com/auth/all'],
            },
            send: {
              id: 'mail.users.messages.send',
              httpMethod: 'POST',
              path: '{userId}/messages/send',
              description: 'Sends a message.',
              parameters: { userId: { type: 'string', location: 'path', required: true } },
              request: { $ref: 'Message' },
              response: { $ref: 'Message' },
              scopes: ['https://mail.example.com/auth/send'],
            },
            delete: {
              id: 'mail.users.messages.delete',
              httpMethod: 'DELETE',
              path: '{userId}/messages/{+id}',
              parameters: {
                userId: { type: 'string', location: 'path', required: true },
                id: { type: 'string', location: 'path', required: true },
              },
            },
            broken: {
              id: 'mail.users.messages.broken',
              httpMethod: 'POST',
              path: '{userId}/messages/broken',
              parameters: { userId: { type: 'string', location: 'path', required: true } },
              request: { $ref: 'Missing' },
            },
          },
        },
      },
    },
  },
};

function importOf(doc: unknown) {
  return importDescription({ text: JSON.stringify(doc), source: 'mail.discovery.json' });
}

describe('Google Discovery import', () => {
  it('makes one tool per method of nested resources, named after the method id without the API name', () => {
    const catalog = importOf(document);
    expect(catalog.format).toBe('discovery');
    expect(catalog.baseUrl).toBe('https://mail.example.com/mail/v1/');
    expect(bindCatalog(catalog, 'mail').tools.map((t) => t.name)).toEqual([
      'mail_users_messages_list',
      'mail_users_messages_send',
      'mail_users_messages_delete',
    ]);
    expect(catalog.tools.map((t) => t.operation)).toEqual([
      'mail.users.messages.list',
      'mail.users.messages.send',
      'mail.users.messages.delete',
    ]);
  });

  it('reads parameters by location, repeated as arrays, string numbers as numbers, and leaves API-wide ones out', () => {
    const list = importOf(document).tools[0]!;
    expect(list.request).toMatchObject({ method: 'GET', pathTemplate: '/{userId}/messages' });
    expect(list.request.parameters.map((p) => [p.name, p.in, p.required])).toEqual([
      ['userId', 'path', true],
      ['labelIds', 'query', false],
      ['maxResults', 'query', false],
      ['order', 'query', false],
    ]);
    const properties = list.inputSchema['properties'] as Record<string, Record<string, unknown>>;
    expect(properties['labelIds']).toEqual({ type: 'array', items: { type: 'string' } });
    expect(properties['maxResults']).toMatchObject({ type: 'integer', default: 100, maximum: 500 });
    expect(properties['order']).toMatchObject({ enum: ['asc', 'desc'] });
    expect(String(properties['order']!['description'])).toContain('desc: New first');
    expect(Object.keys(properties)).not.toContain('key');
    expect(list.inputSchema['required']).toEqual(['userId']);
  });

  it('takes safety from httpMethod, scopes as alternatives, the title from the first sentence', () => {
    const [list, send, del] = importOf(document).tools;
    expect([list!.safety, send!.safety, del!.safety]).toEqual(['safe', 'write', 'destructive']);
    expect(list!.scopes).toEqual([['https://mail.example.com/auth/read'], ['https://mail.example.com/auth/all']]);
    expect(send!.scopes).toEqual([['https://mail.example.com/auth/send']]);
    expect(del!.scopes).toEqual([]);
    expect(list!.title).toBe('Lists the messages.');
    expect(list!.description).toContain('Sorted by date.');
  });

  it('takes the request body from schemas with its references in $defs, without read-only properties', () => {
    const send = importOf(document).tools[1]!;
    expect(send.request.body).toEqual({ argument: 'body', mediaType: 'application/json', required: true });
    const defs = send.inputSchema['$defs'] as Record<string, Record<string, unknown>>;
    expect(Object.keys(defs).sort()).toEqual(['Label', 'Message']);
    expect(Object.keys(defs['Message']!['properties'] as object)).toEqual(['raw', 'labels']);
    const ajv = new Ajv2020({ strict: false, logger: false });
    const validate = ajv.compile(send.inputSchema);
    expect(validate({ userId: 'me', body: { raw: 'eA', labels: [{ name: 'x' }] } })).toBe(true);
    expect(validate({ userId: 'me', body: { labels: [{ name: 1 }] } })).toBe(false);
  });

  it('sends {+name} path variables with reserved characters kept', () => {
    const del = importOf(document).tools[2]!;
    expect(del.request.pathTemplate).toBe('/{userId}/messages/{id}');
    expect(del.request.parameters.find((p) => p.name === 'id')?.allowReserved).toBe(true);
  });

  it('skips a method whose request $ref is not in schemas and names it by its place in the document', () => {
    expect(importOf(document).problems).toEqual([
      { at: 'resources.users.resources.messages.methods.broken', reason: 'request $ref Missing is not in schemas' },
    ]);
  });

  it('skips a method whose schema refers to an unknown schema, naming both', () => {
    const doc = structuredClone(document) as typeof document;
    (doc.schemas.Label.properties as Record<string, unknown>)['owner'] = { $ref: 'Owner' };
    const problem = importOf(doc).problems.find((p) => p.at.endsWith('methods.send'));
    expect(problem?.reason).toContain('schemas/Owner');
  });

  it('refuses a document that is not JSON, or has no methods, with description_invalid naming the file', () => {
    for (const text of ['{"discoveryVersion": "v1", ', '{"discoveryVersion": "v1", "name": "x"}']) {
      let error: unknown;
      try {
        importDescription({ text, source: 'broken.discovery.json' });
      } catch (thrown) {
        error = thrown;
      }
      expect((error as GatehouseError).code).toBe('description_invalid');
      expect((error as GatehouseError).details['source']).toBe('broken.discovery.json');
    }
  });

  it('refuses a Discovery document where another format is expected, and the other way round', () => {
    expect(() => importDescription({ text: JSON.stringify(document), source: 'x', format: 'openapi' })).toThrow(
      GatehouseError,
    );
    expect(() => importDescription({ text: 'openapi: 3.0.0\npaths: {}', source: 'x', format: 'discovery' })).toThrow(
      GatehouseError,
    );
  });

  it('toMethodKey keeps a method id of another API whole', () => {
    expect(toMethodKey('gmail.users.messages.send', 'gmail')).toBe('users_messages_send');
    expect(toMethodKey('other.thing.get', 'gmail')).toBe('other_thing_get');
  });
});

for (const [file, service, count, sample] of [
  ['google.gmail.discovery.json', 'gmail', 62, 'gmail_users_messages_send'],
  ['google.calendar.discovery.json', 'calendar', 37, 'calendar_events_insert'],
] as const) {
  const path = sharedSpec(file);
  describe.skipIf(path === undefined)(`Google Discovery import of ${file}`, () => {
    it(`imports all ${count} methods with valid names and input schemas that compile`, () => {
      const catalog = importDescription({ text: readFileSync(path!, 'utf8'), source: file });
      expect(catalog.problems).toEqual([]);
      const bound = bindCatalog(catalog, service);
      expect(bound.tools).toHaveLength(count);
      expect(bound.tools.every((t) => /^[a-zA-Z0-9_-]{1,64}$/.test(t.name))).toBe(true);
      const ajv = new Ajv2020({ strict: false, validateFormats: false });
      for (const { tool } of bound.tools) ajv.compile(tool.inputSchema);
      const named = bound.byName.get(sample)!;
      expect(named.tool.safety).toBe('write');
      expect(named.tool.scopes.length).toBeGreaterThan(0);
      expect(named.tool.request.body?.argument).toBe('body');
    });
  });
}
