import { describe, expect, it } from 'vitest';
import type { Catalog } from '../core/index.ts';
import { describeService } from './describe-connection.ts';

const runtime = (title: string, format?: Catalog['format']) => ({
  catalog: {
    service: 'x',
    catalog: { id: 'c', title, baseUrl: undefined, tools: [], problems: [], ...(format ? { format } : {}) },
    tools: [],
    byName: new Map(),
  },
});

describe('describeService() names a service as a person recognises it', () => {
  it.each([
    [
      'the configured title wins, with the id',
      'jira',
      { title: 'Jira Cloud' },
      runtime('Jira (pack)'),
      'Jira Cloud (jira)',
    ],
    ["the description's title, with the id", 'pets', undefined, runtime('Swagger Petstore'), 'Swagger Petstore (pets)'],
    ['a title that is the id in another case alone', 'github', { title: 'GitHub' }, undefined, 'GitHub'],
    [
      "an mcp: server's catalogue (titled by its URL): the id",
      'notes',
      undefined,
      runtime('http://x/mcp', 'mcp'),
      'notes',
    ],
    ['no title at all: the id', 'api', undefined, runtime('  '), 'api'],
    ['no runtime (a service not built yet): the id', 'api', undefined, undefined, 'api'],
  ])('%s', (_, id, config, service, want) => {
    expect(describeService(id, config, service)).toBe(want);
  });
});
